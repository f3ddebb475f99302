import Bench

extension Scenario {
    static let updatesDisabledThenEnabled = Scenario(
        "update-control/disabled-then-enabled",
        "With updates disabled an update is refused; a pending notice fires the event; enabling lets it through",
        tags: [.nightly, .updateControl, .qualification],
        requires: [.controlRequests, .updateControl]
    ) { bench in
        let next = bench.image(.nextApp)
        try await bench.board.setUpdatesEnabled(false)
        let error = try await bench.expectFailure("an update while disabled") {
            try await bench.board.update(to: next, via: .controlRequests, cuttingPower: nil)
        }
        try await bench.expect("\(error)".contains("SYSTEM_ERROR_OTA_UPDATES_DISABLED"), "the updates-disabled error (got: \(error))")
        _ = await bench.board.takeEvents()
        try await bench.board.sendCloudNotice(pending: true, forced: nil)
        try await bench.expect(await bench.board.takeEvents().contains(.firmwareUpdatePending), "firmware_update_pending fired")
        try await bench.board.setUpdatesEnabled(true)
        try await bench.step("update after enabling") { try await bench.board.update(to: next, via: .controlRequests, cuttingPower: nil) }
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }

    static let forcedUpdateOverridesDisable = Scenario(
        "update-control/forced-overrides-disable",
        "A forced update goes through although the app disabled updates",
        tags: [.nightly, .updateControl, .qualification],
        requires: [.controlRequests, .updateControl]
    ) { bench in
        let next = bench.image(.nextApp)
        try await bench.board.setUpdatesEnabled(false)
        try await bench.board.sendCloudNotice(pending: nil, forced: true)
        try await bench.step("forced update") { try await bench.board.update(to: next, via: .controlRequests, cuttingPower: nil) }
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }
}
