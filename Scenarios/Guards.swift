import Bench
import Firmware

extension Scenario {
    static let corruptImageRefused = Scenario(
        "guard/corrupt-image-refused",
        "A corrupt image is refused by the device with its integrity error; the old app keeps running",
        tags: [.nightly, .guards, .qualification],
        requires: [.controlRequests]
    ) { bench in
        try await refusedByDevice(bench, .corruptApp, error: "SYSTEM_ERROR_OTA_INTEGRITY_CHECK_FAILED")
    }

    static let wrongPlatformRefusedByDevice = Scenario(
        "guard/wrong-platform-refused-by-device",
        "An app built for another platform is refused by the device; the old app keeps running",
        tags: [.nightly, .guards, .qualification],
        requires: [.controlRequests]
    ) { bench in
        try await refusedByDevice(bench, .otherPlatformApp, error: "SYSTEM_ERROR_OTA_INVALID_PLATFORM")
    }

    static let wrongPlatformRefusedByHost = Scenario(
        "guard/wrong-platform-refused-by-host",
        "The host-side guard refuses an app for another platform before anything is sent",
        tags: [.nightly, .guards, .qualification, .smoke]
    ) { bench in
        let image = bench.image(.otherPlatformApp)
        _ = await bench.board.takeEvents()
        let error = try await bench.expectFailure("the host guard") { try await HostGuard.check(image, for: bench.board) }
        try await bench.expect("\(error)".contains("wrong platform"), "a wrong-platform refusal (got: \(error))")
        try await bench.expect(await bench.board.takeEvents().isEmpty, "nothing sent to the board")
        // And the same guard lets the right image through.
        try await HostGuard.check(bench.image(.nextApp), for: bench.board)
    }

    /// Sends `role` and expects the device's refusal with `error`, nothing changed.
    static func refusedByDevice(_ bench: ScenarioContext, _ role: FirmwareRole, error expected: String) async throws {
        let old = bench.image(.knownGoodApp)
        let error = try await bench.expectFailure("updating to \(role.rawValue)") {
            try await bench.board.update(to: bench.image(role), via: .controlRequests, cuttingPower: nil)
        }
        try await bench.expect("\(error)".contains(expected), "the device's \(expected) (got: \(error))")
        try await bench.expect(await bench.board.mode(), equals: .running, "mode")
        try await bench.expect(try await bench.runningApp()?.crc, equals: old.crc, "running app (the old one)")
    }
}
