import ScenarioAPI

extension Scenario {
    static let updatesDisabledThenEnabled = Scenario(
        "update-control/disabled-then-enabled",
        "With updates disabled an update is refused; a pending notice fires the event; enabling lets it through",
        tags: [.nightly, .updateControl, .qualification],
        requires: [.controlRequests, .updateControl]
    ) { bench in
        let next = bench.image(.nextApp)
        let ota = try bench.facet((any ControlRequestUpdates).self), control = try bench.facet((any UpdateControl).self)
        try await control.setUpdatesEnabled(false)
        try await bench.expectRefusal(.otaUpdatesDisabled, "an update while disabled") {
            try await ota.update(to: next, cuttingPower: nil)
        }
        _ = await control.takeEvents()
        try await control.sendCloudNotice(pending: true, forced: nil)
        try await bench.expect(await control.takeEvents().contains(.firmwareUpdatePending), "firmware_update_pending fired")
        try await control.setUpdatesEnabled(true)
        try await bench.step("update after enabling") { try await ota.update(to: next, cuttingPower: nil) }
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
        let ota = try bench.facet((any ControlRequestUpdates).self), control = try bench.facet((any UpdateControl).self)
        try await control.setUpdatesEnabled(false)
        try await control.sendCloudNotice(pending: nil, forced: true)
        try await bench.step("forced update") { try await ota.update(to: next, cuttingPower: nil) }
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }
}
