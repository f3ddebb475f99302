import Bench

extension Scenario {
    static let cloudOTAHappyPath = Scenario(
        "cloud/ota-happy-path",
        "An update through the cloud (OTA protocol v3: resumable, windowed, checked by SHA-256) installs the next app",
        tags: [.nightly, .ota],
        requires: [.cloudOTA],
        // A plain update working; the defects are the guard and update-control scenarios' to catch.
        probesDefects: false
    ) { bench in
        let next = bench.image(.nextApp)
        try await bench.step("update to \(next) through the cloud") { try await bench.board.update(to: next, via: .cloud, cuttingPower: nil) }
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(mode, equals: .running, "mode after the update")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }
}
