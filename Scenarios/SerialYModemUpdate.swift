import ScenarioAPI

extension Scenario {
    static let otaOverSerialYModem = Scenario(
        "ota/serial-ymodem",
        "An app sent by YMODEM in listening mode (Gen 2-era Device OS) is applied and runs after the restart",
        tags: [.nightly, .ota, .qualification],
        requires: [.serialYModem],
        platforms: .generations([.gen2]),
        probesDefects: false
    ) { bench in
        let next = bench.image(.nextApp)
        let serial = try bench.facet((any YModemUpdates).self)
        try await bench.step("send \(next) by YMODEM") { try await serial.update(to: next) }
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(mode, equals: .running, "mode after the update")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }
}
