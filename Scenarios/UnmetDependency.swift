import ScenarioAPI

extension Scenario {
    static let unmetDependencySafeModeThenHeal = Scenario(
        "deps/unmet-dependency-safe-mode-then-heal",
        "An app needing a newer Device OS lands the board in safe mode; the system-part update heals it",
        tags: [.nightly, .guards, .ota, .qualification],
        requires: [.controlRequests]
    ) { bench in
        let app = bench.image(.newerDeviceOSApp)
        let ota = try bench.facet((any ControlRequestUpdates).self)
        try await bench.step("update to \(app)") { try await ota.update(to: app, cuttingPower: nil) }
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(mode.isSafeMode, "safe mode with the dependency unmet (got \(mode))")
        let system = bench.image(.nextSystemPart)
        try await bench.step("update to \(system)") { try await ota.update(to: system, cuttingPower: nil) }
        let healed = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(healed, equals: .running, "mode after the system part")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: app.fingerprint, "running app")
    }
}
