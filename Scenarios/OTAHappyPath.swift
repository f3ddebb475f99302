import Bench

extension Scenario {
    static let otaHappyPath = Scenario(
        "ota/happy-path",
        "An OTA over control requests installs the next app, which runs after the restart",
        tags: [.nightly, .smoke, .ota, .qualification],
        requires: [.controlRequests],
        probesDefects: false
    ) { bench in
        let next = bench.image(.nextApp)
        let linesBefore = await bench.board.consoleLines().count
        let started = ContinuousClock.now
        try await bench.step("update to \(next)") { try await bench.board.update(to: next, via: .controlRequests, cuttingPower: nil) }
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.measure("ota.update_seconds", (ContinuousClock.now - started).secondsValue, unit: "s")
        try await bench.expect(mode, equals: .running, "mode after the update")
        if bench.board.capabilities.contains(.serial) {
            try await bench.step("the board logs the update") {
                _ = try await bench.board.waitForConsoleLine(containing: "firmware update complete", after: linesBefore, timeout: .seconds(5))
            }
        }
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }
}
