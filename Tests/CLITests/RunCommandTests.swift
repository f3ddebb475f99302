import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Testing

@Suite("otabench run and report", .serialized, .timeLimit(.minutes(10)))
struct RunCommandTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func inventory(_ text: String, in folder: URL, named name: String = "boards.toml") throws -> String {
        let path = folder.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("A passing run exits 0 and writes JUnit, JSON and HTML that parse back")
    func passingRun() async throws {
        let dir = try Self.folder()
        let boards = try Self.inventory("[[board]]\nname = \"b\"\nplatform = \"boron\"\n\n[[board]]\nname = \"p\"\nplatform = \"photon\"\n", in: dir)
        let result = try await OtabenchProcess.run(["run", "--inventory", boards, "--tag", "nightly", "--report-dir", dir.path,
                                              "--lease-dir", dir.appendingPathComponent("leases").path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("known-failure"))

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("report.json"))) as? [String: Any]
        let cases = try #require(json?["cases"] as? [[String: Any]])
        #expect(cases.count > 20)
        #expect((json?["run"] as? [String: Any])?["status"] as? String == "passed")

        // JUnit as CI servers read it: suites per board, counts that add up.
        let junit = try XMLDocument(contentsOf: dir.appendingPathComponent("junit.xml"))
        let root = try #require(junit.rootElement())
        #expect(root.name == "testsuites")
        let suites = root.elements(forName: "testsuite")
        #expect(Set(suites.compactMap { $0.attribute(forName: "name")?.stringValue }) == ["b", "p"])
        var total = 0
        for suite in suites {
            let testcases = suite.elements(forName: "testcase")
            #expect(Int(suite.attribute(forName: "tests")?.stringValue ?? "") == testcases.count)
            let skipped = testcases.filter { !$0.elements(forName: "skipped").isEmpty }.count
            #expect(Int(suite.attribute(forName: "skipped")?.stringValue ?? "") == skipped)
            #expect(testcases.allSatisfy { $0.attribute(forName: "classname") != nil && Double($0.attribute(forName: "time")?.stringValue ?? "") != nil })
            total += testcases.count
        }
        #expect(Int(root.attribute(forName: "tests")?.stringValue ?? "") == total)
        #expect(total == cases.count)

        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("Platform × scenario"))
        #expect(html.contains("known-failure"))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"))
        #expect(html.components(separatedBy: "<table").count == html.components(separatedBy: "</table>").count)
    }

    @Test("A failing run exits 1; a bad inventory exits 2 naming file, line and key")
    func exitCodes() async throws {
        let dir = try Self.folder()
        let defective = try Self.inventory("[[board]]\nname = \"bad\"\nplatform = \"boron\"\ndefects = [\"non-atomic-apply\"]\n", in: dir)
        let failing = try await OtabenchProcess.run(["run", "--inventory", defective, "--scenario", "ota/power-cut-during-apply",
                                               "--report-dir", dir.path, "--lease-dir", dir.appendingPathComponent("leases").path])
        #expect(failing.status == 1, "\(failing.standardError)")
        #expect(failing.standardError.contains("FAIL"))

        let broken = try Self.inventory("[[board]]\nname = \"x\"\nplatform = \"zebra\"\n", in: dir)
        let bad = try await OtabenchProcess.run(["run", "--inventory", broken, "--report-dir", dir.path])
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("\(broken):3: key platform: unknown platform \"zebra\""))
        #expect(try await OtabenchProcess.run(["run", "--platform", "zebra", "--report-dir", dir.path]).status == 2)
        #expect(try await OtabenchProcess.run(["report", "--db", dir.appendingPathComponent("none.sqlite").path]).status == 2)
    }

    @Test("A run killed with SIGKILL keeps every finished step, and report renders it")
    func killedRun() async throws {
        let dir = try Self.folder()
        let boards = try Self.inventory("[[board]]\nname = \"b\"\nplatform = \"boron\"\n", in: dir)
        let process = Process()
        process.executableURL = OtabenchProcess.executable
        process.arguments = ["run", "--inventory", boards, "--emulated", "400", "--jobs", "1", "--report-dir", dir.path,
                             "--lease-dir", dir.appendingPathComponent("leases").path]
        let progress = Pipe()
        process.standardError = progress
        try process.run()
        let database = dir.appendingPathComponent("results.sqlite").path
        // Let it finish a number of cases, then kill it without warning.
        _ = await progress.fileHandleForReading.read(untilSeen: ": pass", times: 11)
        kill(process.processIdentifier, SIGKILL)
        await process.exited()
        #expect(process.terminationReason == .uncaughtSignal)

        let out = dir.appendingPathComponent("after")
        let report = try await OtabenchProcess.run(["report", "--db", database, "--out", out.path])
        #expect(report.status == 0, "\(report.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any])
        let run = try #require(json["run"] as? [String: Any])
        #expect(run["finished"] == nil || run["finished"] is NSNull)
        let cases = try #require(json["cases"] as? [[String: Any]])
        let finished = cases.filter { !["running", "pending"].contains($0["status"] as? String) }
        #expect(finished.count > 5)
        // Every finished happy-path case has all three of its steps, passed.
        let happy = finished.filter { $0["scenario"] as? String == "ota/happy-path" }
        #expect(!happy.isEmpty)
        for item in happy {
            let steps = (item["steps"] as? [[String: Any]]) ?? []
            #expect(steps.map { $0["status"] as? String } == ["passed", "passed", "passed"], "\(steps)")
        }
        #expect(cases.filter { $0["status"] as? String == "running" }.count <= 1)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("the run did not finish"))
        #expect(html.contains(">UNFINISHED<"))
        // The cases it never reached are there too, as planned: nothing vanishes from a killed run.
        #expect(cases.contains { $0["status"] as? String == "pending" })
    }

    @Test("SIGINT and SIGTERM: the case in flight is interrupted, the rest not run, the reports say INTERRUPTED and replace the last run's; exit 130 and 143",
          arguments: [SIGINT, SIGTERM])
    func interrupted(_ signal: Int32) async throws {
        let dir = try Self.folder()
        // What the last run left: a green report a reader must not take for this run's.
        for name in ["report.html", "junit.xml"] {
            try "PASSED (an old run)".write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let process = Process()
        // Through the trampoline, so the child gets signals as it would from a shell.
        ToolProcess.configure(process, OtabenchProcess.executable.path,
                              ["run", "--emulated", "40", "--jobs", "1", "--platform", "boron", "--report-dir", dir.path])
        let progress = Pipe()
        process.standardError = progress
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var said = await progress.fileHandleForReading.read(untilSeen: ": pass", times: 3)
        // Once the run has started, the folder no longer shows the old verdict.
        let during = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(during.contains(">UNFINISHED<") && !during.contains("an old run"), "\(during.prefix(300))")
        kill(process.processIdentifier, signal)
        let rest = await progress.fileHandleForReading.readAll()
        await process.exited()
        said += String(decoding: rest, as: UTF8.self)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 128 + signal, "\(said.suffix(2000))")

        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("report.json"))) as? [String: Any])
        #expect(json["verdict"] as? String == "INTERRUPTED")
        let statuses = ((json["cases"] as? [[String: Any]]) ?? []).compactMap { $0["status"] as? String }
        #expect(statuses.filter { $0 == "passed" }.count >= 3)
        #expect(statuses.contains("not-run"))
        #expect(!statuses.contains("pending") && !statuses.contains("running"), "every case accounted for: \(Set(statuses))")
        #expect(statuses.filter { $0 == "interrupted" }.count <= 1)
        let junit = try String(contentsOf: dir.appendingPathComponent("junit.xml"), encoding: .utf8)
        #expect(junit.contains("type=\"interrupted\"") && junit.contains("<skipped message=\"not run: the run was interrupted"), "\(junit.prefix(1500))")
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains(">INTERRUPTED<"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".report.html.\(process.processIdentifier).tmp").path))
    }

    /// Holds a lease the way a process of another program would: its note, then flock(1) on the file.
    static func holdLease(_ file: String) throws -> Process {
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "echo \"pid $$, a lab script\" > '\(file)'; exec flock -o '\(file)' sleep 60"]
        try holder.run()
        return holder
    }

    static func waitUntilLocked(_ file: String) async throws {
        // flock -n fails while another process holds it.
        for _ in 0..<400 {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            probe.arguments = ["-n", file, "true"]
            try probe.run()
            await probe.exited()
            if probe.terminationStatus != 0 { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the holder never took \(file)")
    }

    @Test("A board leased by another process is not run: every case says who holds it, the run is INCOMPLETE (exit 3); a dead holder's lease is taken over")
    func leases() async throws {
        let dir = try Self.folder()
        let leases = dir.appendingPathComponent("leases").path
        let boards = try Self.inventory("[[board]]\nname = \"lab-boron\"\nplatform = \"boron\"\nemulated = false\ndevice-id = \"E00FCE68AAAA000000000001\"\npower-on = [\"true\"]\npower-off = [\"true\"]\n", in: dir)
        let file = (leases as NSString).appendingPathComponent("e00fce68aaaa000000000001.lease")
        let holder = try Self.holdLease(file)
        defer { if holder.isRunning { holder.terminate() } }
        try await Self.waitUntilLocked(file)
        let second = try await OtabenchProcess.run(["run", "--inventory", boards, "--scenario", "ota/happy-path", "--scenario", "dfu/*",
                                              "--report-dir", dir.appendingPathComponent("second").path, "--lease-dir", leases])
        #expect(second.status == 3, "\(second.standardError)")
        #expect(second.standardError.contains("lab-boron is leased by pid \(holder.processIdentifier), a lab script"), "\(second.standardError)")
        #expect(second.standardOutput.contains("INCOMPLETE"))
        let junit = try String(contentsOf: dir.appendingPathComponent("second/junit.xml"), encoding: .utf8)
        #expect(junit.contains("<skipped message=\"not run: lab-boron is leased by pid \(holder.processIdentifier)"), "\(junit)")
        #expect(junit.contains("type=\"incomplete\""))
        // The other commands that drive the board wait their turn too.
        let power = try await OtabenchProcess.run(["power", "lab-boron", "off", "--inventory", boards, "--lease-dir", leases])
        #expect(power.status == 2)
        #expect(power.standardError.contains("lab-boron is leased by pid \(holder.processIdentifier)"), "\(power.standardError)")
        for command in [["reset", "E00FCE68AAAA000000000001"], ["info", "e00fce68aaaa000000000001"]] {
            let refused = try await OtabenchProcess.run(command + ["--lease-dir", leases])
            #expect(refused.status == 2)
            #expect(refused.standardError.contains("is leased by pid \(holder.processIdentifier)"), "\(command): \(refused.standardError)")
        }

        // The kernel releases the lease when its holder dies, however it dies; the note stays.
        let children = (try? String(contentsOfFile: "/proc/\(holder.processIdentifier)/task/\(holder.processIdentifier)/children", encoding: .utf8)) ?? ""
        kill(holder.processIdentifier, SIGKILL)
        // flock(1)'s own child would keep the process's descriptors, and with them its wait, for a minute.
        for child in children.split(separator: " ").compactMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) { kill(child, SIGKILL) }
        await holder.exited()
        let third = try await OtabenchProcess.run(["info", "e00fce68aaaa000000000001", "--lease-dir", leases])
        #expect(third.standardError.contains("took over the lease of e00fce68aaaa000000000001 from a holder that is gone (pid \(holder.processIdentifier)"),
                "\(third.standardError)")
        #expect(!third.standardError.contains("is leased by"))
    }

    @Test("One lease per board whoever asks: root's lease stops nobody's run (not run, INCOMPLETE), nobody's stops root's; a folder nobody can write is an error")
    func leasesAcrossUsers() async throws {
        let dir = try Self.folder()
        let shared = dir.appendingPathComponent("otabench-leases").path  // made by the first user, as /run/lock/otabench is
        let boards = try Self.inventory("[[board]]\nname = \"lab-argon\"\nplatform = \"argon\"\nemulated = false\ndevice-id = \"e00fce68aaaa000000000003\"\n", in: dir)
        let reports = dir.appendingPathComponent("nobody")
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: reports.path)
        let run = ["run", "--inventory", boards, "--scenario", "ota/happy-path", "--report-dir", reports.path, "--lease-dir", shared]

        // Root holds it (as a run of root's would): nobody's run says so and is incomplete.
        let rootHolds = Process()
        ToolProcess.configure(rootHolds, "/bin/sh", ["-c", "exec flock -o \(shared)/e00fce68aaaa000000000003.lease sleep 60"])
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: shared)
        FileManager.default.createFile(atPath: shared + "/e00fce68aaaa000000000003.lease", contents: Data("pid 1, root's run\n".utf8),
                                       attributes: [.posixPermissions: 0o666])
        try rootHolds.run()
        defer { kill(rootHolds.processIdentifier, SIGKILL); for child in Self.children(rootHolds.processIdentifier) { kill(child, SIGKILL) } }
        try await Self.waitUntilLocked(shared + "/e00fce68aaaa000000000003.lease")
        let result = try await OtabenchProcess.runAsNobody(run)
        #expect(result.status == 3, "\(result.standardError)")
        #expect(result.standardError.contains("lab-argon is leased by pid 1, root's run"), "\(result.standardError)")
        #expect(!result.standardError.contains("Permission denied"))
        kill(rootHolds.processIdentifier, SIGKILL)
        for child in Self.children(rootHolds.processIdentifier) { kill(child, SIGKILL) }
        await rootHolds.exited()

        // Nobody holds a lease of a board nobody leased before: nobody makes the file, root respects it.
        let other = try Self.inventory("[[board]]\nname = \"lab-bsom\"\nplatform = \"bsom\"\nemulated = false\ndevice-id = \"e00fce68aaaa000000000004\"\npower-on = [\"true\"]\npower-off = [\"true\"]\n", in: dir,
                                        named: "other.toml")
        let held = Process()
        ToolProcess.configure(held, "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c",
                                                        "echo 'pid '$$', nobody' > \(shared)/e00fce68aaaa000000000004.lease; exec flock -o \(shared)/e00fce68aaaa000000000004.lease sleep 60"])
        try held.run()
        defer { kill(held.processIdentifier, SIGKILL); for child in Self.children(held.processIdentifier) { kill(child, SIGKILL) } }
        // Nobody's file first: the probe below would otherwise make it, as root.
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: shared + "/e00fce68aaaa000000000004.lease") {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Self.waitUntilLocked(shared + "/e00fce68aaaa000000000004.lease")
        let owner = try FileManager.default.attributesOfItem(atPath: shared + "/e00fce68aaaa000000000004.lease")[.ownerAccountID] as? Int
        #expect(owner == 65534, "nobody made the lease file")
        let rootPower = try await OtabenchProcess.run(["power", "lab-bsom", "off", "--inventory", other, "--lease-dir", shared])
        #expect(rootPower.status == 2 && rootPower.standardError.contains("lab-bsom is leased by pid \(held.processIdentifier), nobody"),
                "\(rootPower.standardError)")

        // The finding: a lease folder root made 0755 left nobody green with every board skipped.
        let closed = dir.appendingPathComponent("closed").path
        try FileManager.default.createDirectory(atPath: closed, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: closed)
        let refused = try await OtabenchProcess.runAsNobody(["run", "--inventory", boards, "--report-dir", reports.path, "--lease-dir", closed])
        #expect(refused.status == 2, "\(refused.standardError)")
        #expect(refused.standardError.contains("cannot check the lease of e00fce68aaaa000000000003 at \(closed)/"), "\(refused.standardError)")
    }

    static func children(_ pid: Int32) -> [Int32] {
        ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test("A lease folder that cannot be used is an error naming it before anything runs, never a skip")
    func unusableLeaseFolder() async throws {
        let dir = try Self.folder()
        let boards = try Self.inventory("[[board]]\nname = \"lab-boron\"\nplatform = \"boron\"\nemulated = false\ndevice-id = \"e00fce68aaaa000000000002\"\n", in: dir)
        let file = dir.appendingPathComponent("not-a-folder").path
        FileManager.default.createFile(atPath: file, contents: Data())
        let result = try await OtabenchProcess.run(["run", "--inventory", boards, "--report-dir", dir.appendingPathComponent("r").path, "--lease-dir", file])
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.standardError.contains("cannot check the lease of e00fce68aaaa000000000002 at \(file)/"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r/junit.xml").path), "no report of a run that never started")
    }

    @Test("--cut-points re-spreads the power-cut scenarios; other scenarios keep their cases")
    func cutPoints() async throws {
        func listed(_ extra: [String]) async throws -> [String] {
            let result = try await OtabenchProcess.run(["run", "--platform", "boron", "--tag", "power-cut", "--list"] + extra)
            #expect(result.status == 0, "\(result.standardError)")
            return result.standardOutput.split(separator: "\n").map(String.init)
        }
        #expect(try await listed([]).count == 16)
        let seven = try await listed(["--cut-points", "7"])
        #expect(seven.count == 28)
        #expect(seven.contains { $0.hasSuffix("ota/power-cut-during-download[download 7%]") }, "\(seven)")
        let refused = try await OtabenchProcess.run(["run", "--cut-points", "0", "--list"])
        #expect(refused.status == 2)
        #expect(refused.standardError.contains("--cut-points must be between 1 and 1000"))
    }

    @Test("--verbose says each case's steps and measurements on stderr as they happen, tagged with board and case; without it they are not said, and stdout holds neither")
    func verboseRun() async throws {
        let dir = try Self.folder()
        let boards = try Self.inventory("[[board]]\nname = \"b\"\nplatform = \"boron\"\n", in: dir)
        let arguments = ["run", "--inventory", boards, "--scenario", "ota/happy-path", "--report-dir", dir.path]
        let verbose = try await OtabenchProcess.run(arguments + ["--verbose"])
        #expect(verbose.status == 0, "\(verbose.standardError)")
        let lines = verbose.standardError.split(separator: "\n").map(String.init)
        let said = { (text: String) in lines.contains { $0.contains(text) && $0.contains("board=b") && $0.contains("case=ota/happy-path") } }
        #expect(said("case started"), "\(verbose.standardError)")
        #expect(said("step \"update to"), "\(verbose.standardError)")
        #expect(said("done in"), "\(verbose.standardError)")
        #expect(said("measured ota.update_seconds"), "\(verbose.standardError)")
        #expect(said("case ended: passed"), "\(verbose.standardError)")
        #expect(!verbose.standardOutput.contains("step \""))

        let quiet = try await OtabenchProcess.run(arguments)
        #expect(quiet.status == 0, "\(quiet.standardError)")
        #expect(!quiet.standardError.contains("case started") && !quiet.standardError.contains("step \""), "\(quiet.standardError)")
        #expect(quiet.standardError.contains("[b] ota/happy-path: pass"), "\(quiet.standardError)")
    }
}
