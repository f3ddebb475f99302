import Emulator
import Firmware
import Foundation
import TestSupport
import Testing

@Suite("otabench qualify, verify-report, keygen, history", .serialized, .timeLimit(.minutes(10)))
struct QualifyCommandTests {
    static func inventory(_ file: URL, defects: [String] = []) throws {
        let boron = "[[board]]\nname = \"boron\"\nplatform = \"boron\"\n" + (defects.isEmpty ? "" : "defects = [\(defects.map { "\"\($0)\"" }.joined(separator: ", "))]\n")
        try (boron + "\n[[board]]\nname = \"p2\"\nplatform = \"p2\"\n").write(to: file, atomically: true, encoding: .utf8)
    }

    @Test("Qualify on emulated boards passes and signs its evidence; a one-byte change fails verification; a seeded defect fails the next release, named and compared")
    func qualifyVerifyAndCompare() async throws {
        let folder = try temporaryFolder("qualify")
        let key = folder.appendingPathComponent("release-key")
        let made = try await OtabenchProcess.run(["keygen", "--out", key.path])
        #expect(made.status == 0, "\(made.standardError)")
        let attributes = try FileManager.default.attributesOfItem(atPath: key.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the private key is its owner's only")
        #expect(try await OtabenchProcess.run(["keygen", "--out", key.path]).status == 2, "an existing key is never overwritten")

        let inventory = folder.appendingPathComponent("lab.toml")
        try Self.inventory(inventory)
        let reports = folder.appendingPathComponent("reports")
        let first = try await OtabenchProcess.run(["qualify", "--release", "v1.0", "--inventory", inventory.path, "--key", key.path,
                                             "--report-dir", reports.path])
        #expect(first.status == 0, "\(first.standardOutput)\(first.standardError)")
        #expect(first.standardOutput.hasPrefix("v1.0: PASS on boron, p2"), "\(first.standardOutput)")
        let evidence = reports.appendingPathComponent("qualification.json")
        let html = try String(contentsOf: reports.appendingPathComponent("qualification.html"), encoding: .utf8)
        #expect(html.contains("data-verdict=\"PASS\"") && html.contains("<svg"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=") && !html.contains("url("),
                "self-contained: nothing to fetch")

        let verified = try await OtabenchProcess.run(["verify-report", evidence.path, "--key", key.path + ".pub"])
        #expect(verified.status == 0, "\(verified.standardOutput)\(verified.standardError)")
        #expect(verified.standardOutput.contains("verified") && verified.standardOutput.contains("v1.0: PASS"))

        var bytes = [UInt8](try Data(contentsOf: evidence))
        let tampered = folder.appendingPathComponent("tampered.json")
        bytes[bytes.count / 2] = bytes[bytes.count / 2] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        try Data(bytes).write(to: tampered)
        try FileManager.default.copyItem(at: reports.appendingPathComponent("qualification.json.sig"),
                                         to: folder.appendingPathComponent("tampered.json.sig"))
        let refused = try await OtabenchProcess.run(["verify-report", tampered.path, "--key", key.path + ".pub"])
        #expect(refused.status == 1)
        #expect(refused.standardOutput.contains("NOT VERIFIED"))
        let otherKey = folder.appendingPathComponent("other-key")
        _ = try await OtabenchProcess.run(["keygen", "--out", otherKey.path])
        let wrongKey = try await OtabenchProcess.run(["verify-report", evidence.path, "--key", otherKey.path + ".pub"])
        #expect(wrongKey.status == 1 && wrongKey.standardOutput.contains("not by"))

        // The same inventory with a bug seeded into the Boron's firmware.
        try Self.inventory(inventory, defects: ["ignore-platform"])
        let second = try await OtabenchProcess.run(["qualify", "--release", "v1.1", "--inventory", inventory.path, "--report-dir", reports.path])
        #expect(second.status == 1)
        #expect(second.standardOutput.hasPrefix("v1.1: FAIL"))
        #expect(second.standardOutput.contains("boron: guard/wrong-platform-refused-by-device failed"), "\(second.standardOutput)")
        #expect(!second.standardOutput.contains("p2: "), "only the seeded platform is named")
        #expect(second.standardOutput.contains("against v1.0: 1 new failures, 0 fixed"), "\(second.standardOutput)")
        let report = try String(contentsOf: reports.appendingPathComponent("qualification.html"), encoding: .utf8)
        #expect(report.contains("data-verdict=\"FAIL\"") && report.contains("New failures") && report.contains("boron: guard/wrong-platform-refused-by-device"))
    }

    @Test("Qualify stopped by SIGINT: exit 130, and its signed evidence says INCOMPLETE, interrupted first among the reasons")
    func interrupted() async throws {
        let folder = try temporaryFolder("qualify-interrupted")
        let key = folder.appendingPathComponent("release-key")
        #expect(try await OtabenchProcess.run(["keygen", "--out", key.path]).status == 0)
        // Ten of each, one case at a time: some seconds of cases, so the signal lands mid-run
        // however slow the machine is to read the progress.
        let inventory = folder.appendingPathComponent("lab.toml")
        try (1...10).map { "[[board]]\nname = \"boron-\($0)\"\nplatform = \"boron\"\n\n[[board]]\nname = \"p2-\($0)\"\nplatform = \"p2\"\n" }
            .joined(separator: "\n").write(to: inventory, atomically: true, encoding: .utf8)
        let reports = folder.appendingPathComponent("reports")
        let process = Process()
        ToolProcess.configure(process, OtabenchProcess.executable.path,
                              ["qualify", "--release", "v2.0", "--inventory", inventory.path, "--key", key.path, "--jobs", "1",
                               "--report-dir", reports.path])
        let progress = Pipe()
        process.standardError = progress
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Drained beside stderr, so a long verdict cannot fill the pipe and stall the process.
        let printing = Task { String(decoding: await output.fileHandleForReading.readAll(), as: UTF8.self) }
        var said = await progress.fileHandleForReading.read(untilSeen: ": pass", times: 2)
        kill(process.processIdentifier, SIGINT)
        said += String(decoding: await progress.fileHandleForReading.readAll(), as: UTF8.self)
        let printed = await printing.value
        await process.exited()
        #expect(process.terminationStatus == 130, "\(said.suffix(2000))")
        #expect(printed.hasPrefix("v2.0: INCOMPLETE"), "\(printed)")
        #expect(printed.contains("the qualification was interrupted by SIGINT"), "\(printed)")

        let evidence = reports.appendingPathComponent("qualification.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: evidence)) as? [String: Any])
        #expect(json["verdict"] as? String == "INCOMPLETE")
        #expect((json["reasons"] as? [String])?.first == "the qualification was interrupted by SIGINT", "\(json["reasons"] ?? "none")")
        let verified = try await OtabenchProcess.run(["verify-report", evidence.path, "--key", key.path + ".pub"])
        #expect(verified.status == 0 && verified.standardOutput.contains("v2.0: INCOMPLETE"), "\(verified.standardOutput)\(verified.standardError)")
        let run = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("report.json"))) as? [String: Any])
        #expect(run["verdict"] as? String == "INTERRUPTED")
    }

    @Test("A release folder: each file's role comes from inspecting it; a platform without a release image is INCOMPLETE; a foreign file is refused")
    func releaseFolder() async throws {
        let folder = try temporaryFolder("qualify-release")
        let inventory = folder.appendingPathComponent("lab.toml")
        try Self.inventory(inventory)
        let release = folder.appendingPathComponent("release")
        try FileManager.default.createDirectory(at: release, withIntermediateDirectories: true)
        let boron = Platform(buildName: "boron")!
        let app = try FirmwareSet.application(for: boron, size: 20_000, seed: 77, systemVersion: try FirmwareSet.standard(for: boron).systemVersion)
        try Data(app).write(to: release.appendingPathComponent("tracker-edge-v19.bin"))
        let reports = folder.appendingPathComponent("reports")
        let result = try await OtabenchProcess.run(["qualify", "--release", "v2", "--inventory", inventory.path, "--firmware", release.path,
                                              "--report-dir", reports.path])
        #expect(result.status == 3, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("v2: INCOMPLETE"))
        #expect(result.standardOutput.contains("p2: the release has no image for it"))
        let evidence = try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("qualification.json"))) as? [String: Any]
        let images = try #require((evidence?["provenance"] as? [String: Any])?["images"] as? [[String: Any]])
        let nextApp = try #require(images.first { $0["platform"] as? String == "boron" && $0["role"] as? String == "next-app" })
        #expect(nextApp["fromRelease"] as? Bool == true)
        #expect(nextApp["sha256"] as? String == SHA256.digest(app).hexString)

        try Data("not firmware".utf8).write(to: release.appendingPathComponent("notes.bin"))
        let refused = try await OtabenchProcess.run(["qualify", "--release", "v2", "--inventory", inventory.path, "--firmware", release.path,
                                               "--report-dir", reports.path])
        #expect(refused.status == 2)
        #expect(refused.standardError.contains("notes.bin"), "\(refused.standardError)")
    }

    @Test("history reads the runs of a results database")
    func history() async throws {
        let folder = try temporaryFolder("history-cli")
        let reports = folder.appendingPathComponent("reports")
        for _ in 0..<3 {
            let run = try await OtabenchProcess.run(["run", "--platform", "boron", "--scenario", "ota/happy-path", "--report-dir", reports.path,
                                               "--lease-dir", folder.appendingPathComponent("leases").path])
            #expect(run.status == 0, "\(run.standardError)")
        }
        let history = try await OtabenchProcess.run(["history", "--db", reports.appendingPathComponent("results.sqlite").path, "--board", "boron"])
        #expect(history.status == 0, "\(history.standardError)")
        let line = try #require(history.standardOutput.split(separator: "\n").first { $0.hasPrefix("ota/happy-path\tboron") })
        #expect(line.split(separator: "\t")[2...4] == ["3", "100%", "0%"], "\(line)")
        #expect(try await OtabenchProcess.run(["history", "--db", folder.appendingPathComponent("none.sqlite").path]).status == 2)
        #expect(try await OtabenchProcess.run(["history", "--db", reports.appendingPathComponent("results.sqlite").path, "--since", "yesterday"]).status == 2)
    }
}
