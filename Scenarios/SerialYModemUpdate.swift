import ScenarioAPI

extension Scenario {
    static let otaOverSerialYModem = Scenario(
        "ota/serial-ymodem",
        "An app sent by YMODEM in listening mode (Device OS before 6.0.0, every platform) is applied and runs after the restart",
        tags: [.nightly, .ota, .qualification],
        // The board's Device OS decides, not its generation: 5.x Gen 3 boards take YMODEM too,
        // and a board without the route (6.x, or on USB without its tty) lacks the facet.
        requires: [.serialYModem],
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
