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
        tags: [.nightly, .guards, .qualification, .smoke],
        probesDefects: false  // the host's guard: no device defect can change it
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
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: old.fingerprint, "running app (the old one)")
    }
}

extension Scenario {
    static let truncatedTransferRefused = Scenario(
        "guard/truncated-transfer-refused",
        "A transfer that stops short of its announced size is refused at finish; nothing is applied",
        tags: [.nightly, .guards, .qualification],
        requires: [.controlRequests]
    ) { bench in
        let old = bench.image(.knownGoodApp)
        let next = bench.image(.nextApp)
        _ = await bench.board.takeEvents()
        let error = try await bench.expectFailure("finishing a transfer missing its last bytes") {
            try await bench.board.updateCutShort(to: next, sending: next.bytes.count / 2)
        }
        try await bench.expect("\(error)".contains("SYSTEM_ERROR_INVALID_STATE"), "the invalid-state error (got: \(error))")
        try await bench.expect(!(await bench.board.takeEvents().contains(.firmwareUpdateComplete)), "no firmware_update/complete")
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: old.fingerprint, "running app (the old one)")
    }
}
