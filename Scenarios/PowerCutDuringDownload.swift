import ScenarioAPI

extension Scenario {
    static let powerCutDuringDownload = Scenario(
        "ota/power-cut-during-download",
        "A power cut while an OTA image downloads leaves the old app running",
        tags: [.nightly, .powerCut, .qualification],
        requires: [.powerControl, .controlRequests],
        // No seeded defect breaks the download phase yet (nothing is queued before validation).
        probesDefects: false,
        powerCutsOver: .download
    ) { bench, cut in
        let old = bench.image(.knownGoodApp), next = bench.image(.nextApp)
        let ota = try bench.facet((any ControlRequestUpdates).self)
        try await bench.step("update, cutting power at \(cut)") {
            try await ota.update(to: next, cuttingPower: cut)
        }
        try await bench.recordPowerCut()
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(mode, equals: .running, "mode after the cut")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: old.fingerprint, "running app (the old one)")
        try await bench.expect(try await bench.modules().allSatisfy(\.valid), "every module valid")
    }
}
