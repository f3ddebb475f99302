import ScenarioAPI

extension Scenario {
    static let corruptImageRefused = Scenario(
        "guard/corrupt-image-refused",
        "A corrupt image is refused by the device with its integrity error; the old app keeps running",
        tags: [.nightly, .guards, .qualification],
        requires: [.controlRequests]
    ) { bench in
        try await refusedByDevice(bench, .corruptApp, error: .otaIntegrityCheckFailed)
    }

    static let wrongPlatformRefusedByDevice = Scenario(
        "guard/wrong-platform-refused-by-device",
        "An app built for another platform is refused by the device; the old app keeps running",
        tags: [.nightly, .guards, .qualification],
        requires: [.controlRequests]
    ) { bench in
        try await refusedByDevice(bench, .otherPlatformApp, error: .otaInvalidPlatform)
    }

    static let wrongPlatformRefusedByHost = Scenario(
        "guard/wrong-platform-refused-by-host",
        "The host-side guard refuses an app for another platform before anything is sent",
        tags: [.nightly, .guards, .qualification, .smoke],
        probesDefects: false  // the host's guard: no device defect can change it
    ) { bench in
        let image = bench.image(.otherPlatformApp), old = bench.image(.knownGoodApp)
        let board = bench.board
        // Where the board reports its app's events, none may come of the refusal.
        let events = board.facet((any UpdateControl).self)
        _ = await events?.takeEvents()
        try await bench.expectFailure("the host guard", because: "a wrong-platform refusal", matching: { cause in
            guard case .hostGuard(let problems) = cause else { return false }
            return problems.contains { if case .wrongPlatform = $0 { true } else { false } }
        }) { try await HostGuard.check(image, for: board) }
        if let events { try await bench.expect(await events.takeEvents().isEmpty, "nothing sent to the board") }
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: old.fingerprint, "running app (the old one)")
        // And the same guard lets the right image through.
        try await HostGuard.check(bench.image(.nextApp), for: bench.board)
    }

    /// Sends `role` and expects the device's refusal with `error`, nothing changed.
    static func refusedByDevice(_ bench: ScenarioContext, _ role: FirmwareRole, error expected: SystemError) async throws {
        let old = bench.image(.knownGoodApp), image = bench.image(role)
        let ota = try bench.facet((any ControlRequestUpdates).self)
        try await bench.expectRefusal(expected, "updating to \(role.rawValue)") {
            try await ota.update(to: image, cuttingPower: nil)
        }
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
        let ota = try bench.facet((any ControlRequestUpdates).self)
        let events = bench.board.facet((any UpdateControl).self)
        _ = await events?.takeEvents()
        try await bench.expectRefusal(.invalidState, "finishing a transfer missing its last bytes") {
            try await ota.updateCutShort(to: next, sending: next.bytes.count / 2)
        }
        if let events {
            try await bench.expect(!(await events.takeEvents().contains(.firmwareUpdateComplete)), "no firmware_update/complete")
        }
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: old.fingerprint, "running app (the old one)")
    }
}
