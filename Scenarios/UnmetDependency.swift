import Bench

extension Scenario {
    static let unmetDependencySafeModeThenHeal = Scenario(
        "deps/unmet-dependency-safe-mode-then-heal",
        "An app needing a newer Device OS lands the board in safe mode; the system-part update heals it",
        tags: [.nightly, .guards, .ota, .qualification],
        requires: [.controlRequests]
    ) { bench in
        let app = bench.image(.newerDeviceOSApp)
        try await bench.step("update to \(app)") { try await bench.board.update(to: app, via: .controlRequests, cuttingPower: nil) }
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(mode.isSafeMode, "safe mode with the dependency unmet (got \(mode))")
        let system = bench.image(.nextSystemPart)
        try await bench.step("update to \(system)") { try await bench.board.update(to: system, via: .controlRequests, cuttingPower: nil) }
        let healed = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(healed, equals: .running, "mode after the system part")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: app.fingerprint, "running app")
    }
}
