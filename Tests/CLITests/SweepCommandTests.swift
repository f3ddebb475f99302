import Foundation
import TestSupport
import Testing

@Suite("otabench sweep", .timeLimit(.minutes(10)))
struct SweepCommandTests {
    @Test("A Gen 3 sweep passes and reports every outcome with its first cut points")
    func gen3Passes() async throws {
        let result = try await OtabenchProcess.run(["sweep", "--platform", "boron", "--app-size", "32768", "--torn", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(report["passed"] as? Bool == true)
        let outcomes = try #require(report["outcomes"] as? [[String: Any]])
        #expect(Set(outcomes.compactMap { $0["outcome"] as? String }) == ["old-app", "new-app"])
        #expect((report["cutPoints"] as? Int ?? 0) > (report["operations"] as? Int ?? 0))
        #expect((report["cutPointsPerSecond"] as? Double ?? 0) > 0)
    }

    @Test("A Gen 2 sweep fails the default promise, and passes once its outcomes are allowed")
    func gen2Fails() async throws {
        let failing = try await OtabenchProcess.run(["sweep", "--platform", "photon", "--app-size", "16384", "--torn"])
        #expect(failing.status == 1)
        #expect(failing.standardOutput.contains("factory-app"))
        #expect(failing.standardOutput.contains("NOT ALLOWED"))
        let allowed = try await OtabenchProcess.run(["sweep", "--platform", "photon", "--app-size", "16384", "--torn",
                                               "--allow", "old-app,new-app,factory-app,safe-mode"])
        #expect(allowed.status == 0)
    }

    @Test("A seeded defect makes a Gen 3 sweep fail")
    func defectFails() async throws {
        let result = try await OtabenchProcess.run(["sweep", "--platform", "boron", "--app-size", "16384", "--phase", "apply",
                                              "--defect", "non-atomic-apply"])
        #expect(result.status == 1)
    }

    @Test("A real application image can be swept", .enabled(if: Fixtures.enabled))
    func realImage() async throws {
        let image = try Fixtures.requireFirmwareDirectory().appendingPathComponent("tracker-tinker@5.3.1.bin").path
        let result = try await OtabenchProcess.run(["sweep", "--image", image])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("emulated tracker"))
    }

    @Test("Bad arguments exit 2 with a clear line")
    func badArguments() async throws {
        for arguments in [["--phase", "sometimes"], ["--defect", "gremlins"], ["--allow", "maybe"], ["--platform", "zebra"],
                          ["--image", "/nonexistent.bin"]] {
            let result = try await OtabenchProcess.run(["sweep"] + arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.standardError.hasPrefix("otabench: sweep:"), "\(arguments): \(result.standardError)")
        }
    }
}
