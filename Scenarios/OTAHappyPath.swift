import ScenarioAPI

extension Scenario {
    static let otaHappyPath = Scenario(
        "ota/happy-path",
        "An OTA over control requests installs the next app, which runs after the restart",
        tags: [.nightly, .smoke, .ota, .qualification],
        requires: [.controlRequests],
        probesDefects: false
    ) { bench in
        let next = bench.image(.nextApp)
        let ota = try bench.facet((any ControlRequestUpdates).self)
        let console = bench.board.facet((any Console).self)
        let linesBefore = await console?.lines().count ?? 0
        let started = ContinuousClock.now
        try await bench.step("update to \(next)") { try await ota.update(to: next, cuttingPower: nil) }
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.measure("ota.update_seconds", (ContinuousClock.now - started).secondsValue, unit: "s")
        try await bench.expect(mode, equals: .running, "mode after the update")
        if let console {
            try await bench.step("the board logs the update") {
                _ = try await console.waitForLine(containing: "firmware update complete", after: linesBefore, timeout: .seconds(5))
            }
        }
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }
}
