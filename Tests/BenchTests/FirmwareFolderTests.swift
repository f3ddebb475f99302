@testable import Bench
@testable import Boards
import Firmware
import Foundation
import Scenarios
import TestSupport
import Testing

@Suite("Firmware folders", .enabled(if: Fixtures.enabled), .timeLimit(.minutes(10)))
struct FirmwareFolderTests {
    static func folder(_ files: [String: String]) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-fw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (role, fixture) in files {
            try FileManager.default.copyItem(at: try Fixtures.requireFirmwareDirectory().appendingPathComponent(fixture),
                                            to: folder.appendingPathComponent("\(role).bin"))
        }
        return folder.path
    }

    @Test("Real Particle apps from a folder run through the scenario library on an emulated Tracker")
    func realAppsThroughTheBench() async throws {
        let folder = try Self.folder([
            "known-good-app": "tracker-tinker@5.3.1.bin",
            "next-app": "tracker-user-part-extensions.bin",
            "other-platform-app": "p2-tinker@5.3.1.bin",
        ])
        let text = "[[board]]\nname = \"tracker\"\nplatform = \"tracker\"\nfirmware = \"\(folder)\"\n"
        let inventory = try Inventory.parse(text, file: "/tmp/lab.toml")
        let board = try BoardUnderTest.emulated(inventory.entries[0], serial: 1)
        #expect(try await board.board.required((any ModuleTable).self).runningApp()?.fingerprint == board.firmware.image(.knownGoodApp).fingerprint)
        var options = RunOptions()
        options.tags = [.nightly]
        let summary = try await Runner(scenarios: ScenarioLibrary.all, boards: [board], store: nil, options: options).run()
        #expect(summary.passed, "\(summary.results.filter { $0.status.failsRun })")
        #expect(summary.results.contains { $0.scenario == "ota/happy-path" && $0.status == .passed })
    }

    @Test("A folder image built for the wrong platform is refused, naming the file")
    func wrongPlatform() throws {
        let folder = try Self.folder(["next-app": "p2-tinker@5.3.1.bin"])
        let error = #expect(throws: FirmwareFolderError.self) {
            try FirmwareLibrary.load(from: folder, platform: Platform(buildName: "tracker")!, fallback: nil)
        }
        #expect(error?.path.hasSuffix("known-good-app.bin") == true || error?.path.hasSuffix("next-app.bin") == true)
        let withFallback = #expect(throws: FirmwareFolderError.self) {
            try FirmwareLibrary.load(from: folder, platform: Platform(buildName: "tracker")!,
                                     fallback: try ProvisionedTemplates.shared.template(for: Platform(buildName: "tracker")!).library)
        }
        #expect(withFallback?.path.hasSuffix("next-app.bin") == true)
        #expect(withFallback?.reason.contains("not tracker") == true)
    }
}
