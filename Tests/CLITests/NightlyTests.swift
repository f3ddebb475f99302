import Foundation
import TestSupport
import Testing

/// Scripts/nightly, its systemd units and the udev rules, as a lab installs them.
@Suite("Nightly operations", .serialized, .timeLimit(.minutes(10)))
struct NightlyTests {
    static let root = Fixtures.repositoryRoot

    static func nightly(_ folder: URL, inventory: URL, keep: Int = 2) async throws -> ToolProcess.Result {
        let environment = ["OTABENCH_INVENTORY": inventory.path, "OTABENCH_NIGHTLY_DIR": folder.path, "OTABENCH_KEEP_RUNS": "\(keep)",
                           "OTABENCH_SKIP_BUILD": "1", "OTABENCH": OtabenchProcess.executable.path]
        return try await ToolProcess.run("/usr/bin/env", environment.map { "\($0)=\($1)" } + [root.appendingPathComponent("Scripts/nightly").path])
    }

    @Test("Each night a run folder; stable latest link and JUnit path; old folders rotated; every run kept in the database")
    func runsAndRotates() async throws {
        let folder = try temporaryFolder("nightly")
        let inventory = folder.appendingPathComponent("lab.toml")
        try "[[board]]\nname = \"boron\"\nplatform = \"boron\"\n".write(to: inventory, atomically: true, encoding: .utf8)
        let nights = folder.appendingPathComponent("nightly")
        for night in 0..<3 {
            let result = try await Self.nightly(nights, inventory: inventory)
            #expect(result.status == 0, "\(result.output)")
            if night < 2 { try await Task.sleep(for: .milliseconds(1100)) }  // run folders are named by the second
        }
        let runs = try FileManager.default.contentsOfDirectory(atPath: nights.appendingPathComponent("runs").path).sorted()
        #expect(runs.count == 2, "\(runs)")
        let latest = try FileManager.default.destinationOfSymbolicLink(atPath: nights.appendingPathComponent("latest").path)
        #expect(latest == "runs/" + runs.last!)
        let junit = try String(contentsOf: nights.appendingPathComponent("junit.xml"), encoding: .utf8)
        #expect(junit == (try String(contentsOf: nights.appendingPathComponent("latest/junit.xml"), encoding: .utf8)))
        let history = try await OtabenchProcess.run(["history", "--db", nights.appendingPathComponent("results.sqlite").path,
                                               "--scenario", "ota/happy-path"])
        #expect(history.standardOutput.contains("ota/happy-path\tboron\t3\t100%"), "\(history.standardOutput)")
    }

    @Test("While a nightly runs, and after one killed outright, the stable JUnit is an error saying so; latest stays on the last run that finished")
    func killedNightly() async throws {
        let folder = try temporaryFolder("nightly-killed")
        let inventory = folder.appendingPathComponent("lab.toml")
        try "[[board]]\nname = \"boron\"\nplatform = \"boron\"\n".write(to: inventory, atomically: true, encoding: .utf8)
        let nights = folder.appendingPathComponent("nightly")
        #expect(try await Self.nightly(nights, inventory: inventory).status == 0)
        let finished = try FileManager.default.destinationOfSymbolicLink(atPath: nights.appendingPathComponent("latest").path)
        try await Task.sleep(for: .milliseconds(1100))  // run folders are named by the second

        let script = Process()
        ToolProcess.configure(script, "/usr/bin/env", ["OTABENCH_INVENTORY=\(inventory.path)", "OTABENCH_NIGHTLY_DIR=\(nights.path)", "OTABENCH_SKIP_BUILD=1",
                            "OTABENCH=\(OtabenchProcess.executable.path)", Self.root.appendingPathComponent("Scripts/nightly").path,
                            "--emulated", "60", "--jobs", "1"])
        script.standardOutput = FileHandle.nullDevice
        script.standardError = FileHandle.nullDevice
        try script.run()
        // Wait for otabench to be under way (its first reports written), then kill it outright.
        var child: Int32?
        for _ in 0..<1000 where child == nil {
            try await Task.sleep(for: .milliseconds(20))
            let runs = (try? FileManager.default.contentsOfDirectory(atPath: nights.appendingPathComponent("runs").path)) ?? []
            guard let newest = runs.sorted().last, "runs/" + newest != finished,
                  FileManager.default.fileExists(atPath: nights.appendingPathComponent("runs/\(newest)/report.json").path) else { continue }
            let pgrep = try await ToolProcess.run("/usr/bin/pgrep", ["-P", "\(script.processIdentifier)"])
            var grandchildren: [Substring] = []
            for pid in pgrep.output.split(separator: "\n") {
                grandchildren += try await ToolProcess.run("/usr/bin/pgrep", ["-P", String(pid)]).output.split(separator: "\n")
            }
            child = (grandchildren + pgrep.output.split(separator: "\n")).compactMap { Int32($0) }.first { pid in
                ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("otabench")
                    && !((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("Scripts/nightly")
            }
        }
        let running = try String(contentsOf: nights.appendingPathComponent("junit.xml"), encoding: .utf8)
        #expect(running.contains("<error message=\"UNFINISHED: nightly") && running.contains("is running"), "\(running)")
        let pid = try #require(child)
        kill(pid, SIGKILL)
        await script.exited()
        let after = try String(contentsOf: nights.appendingPathComponent("junit.xml"), encoding: .utf8)
        #expect(after.contains("without finishing its reports"), "\(after)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: nights.appendingPathComponent("latest").path) == finished)
    }

    @Test("A second nightly while one runs does not start; a bad setting is refused")
    func oneAtATime() async throws {
        let folder = try temporaryFolder("nightly-lock")
        let nights = folder.appendingPathComponent("nightly")
        try FileManager.default.createDirectory(at: nights, withIntermediateDirectories: true)
        let inventory = folder.appendingPathComponent("lab.toml")
        try "[[board]]\nname = \"boron\"\nplatform = \"boron\"\n".write(to: inventory, atomically: true, encoding: .utf8)
        // Another nightly holds the lock (this process, for the test).
        let lock = open(nights.appendingPathComponent(".lock").path, O_WRONLY | O_CREAT, 0o644)
        #expect(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
        defer { close(lock) }
        let refused = try await Self.nightly(nights, inventory: inventory)
        #expect(refused.status == 2)
        #expect(refused.output.contains("another nightly run holds"), "\(refused.output)")
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: nights.appendingPathComponent("runs").path)) ?? []
        #expect(runs.isEmpty, "no run started: \(runs)")
        let bad = try await Self.nightly(folder.appendingPathComponent("other"), inventory: inventory, keep: 0)
        #expect(bad.status == 2 && bad.output.contains("OTABENCH_KEEP_RUNS"))
    }

    @Test("The systemd service and timer pass systemd-analyze verify, and a broken timer would not")
    func systemdUnits() async throws {
        let folder = try temporaryFolder("units")
        let units = Self.root.appendingPathComponent("Scripts/systemd")
        // The units name the install path; point them at this checkout.
        let service = try String(contentsOf: units.appendingPathComponent("otabench-nightly.service"), encoding: .utf8)
            .replacingOccurrences(of: "/opt/otabench", with: Self.root.path)
        try service.write(to: folder.appendingPathComponent("otabench-nightly.service"), atomically: true, encoding: .utf8)
        let timer = try String(contentsOf: units.appendingPathComponent("otabench-nightly.timer"), encoding: .utf8)
        try timer.write(to: folder.appendingPathComponent("otabench-nightly.timer"), atomically: true, encoding: .utf8)
        let verified = try await ToolProcess.run("/usr/bin/systemd-analyze", ["verify", folder.appendingPathComponent("otabench-nightly.service").path,
                                                                        folder.appendingPathComponent("otabench-nightly.timer").path])
        #expect(verified.status == 0 && verified.output.isEmpty, "\(verified.output)")
        try timer.replacingOccurrences(of: "02:00:00", with: "at two").write(to: folder.appendingPathComponent("otabench-nightly.timer"),
                                                                              atomically: true, encoding: .utf8)
        #expect(try await ToolProcess.run("/usr/bin/systemd-analyze", ["verify", folder.appendingPathComponent("otabench-nightly.timer").path]).status != 0)
    }

    @Test("The udev rules give plugdev the boards (vendor 2b04), their ttys and hubs, in udev's rule syntax")
    func udevRules() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Scripts/50-particle.rules"), encoding: .utf8)
        let rules = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        // Each rule: comma-separated KEY{attr}OP"value" pairs, as udev(7) writes them.
        let pair = #/^\s*(SUBSYSTEM|ATTR\{\w+\}|ATTRS\{\w+\}|ENV\{\w+\}|KERNEL|ACTION|DRIVER|MODE|GROUP|OWNER|TAG|RUN)(==|!=|=|\+=|:=)"([^"]*)"\s*$/#
        for rule in rules {
            for field in rule.split(separator: ",") {
                #expect(String(field).wholeMatch(of: pair) != nil, "not udev syntax: \(field) in \(rule)")
            }
        }
        #expect(rules.contains { $0.contains("SUBSYSTEM==\"usb\"") && $0.contains("ATTR{idVendor}==\"2b04\"") && $0.contains("GROUP=\"plugdev\"") })
        #expect(rules.contains { $0.contains("SUBSYSTEM==\"tty\"") && $0.contains("ATTRS{idVendor}==\"2b04\"") && $0.contains("GROUP=\"plugdev\"") })
        #expect(rules.contains { $0.contains("ATTR{bDeviceClass}==\"09\"") && $0.contains("MODE=\"0664\"") })
    }
}
