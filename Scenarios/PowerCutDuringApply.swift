import ScenarioAPI

extension Scenario {
    static let powerCutDuringApply = Scenario(
        "ota/power-cut-during-apply",
        "A power cut during the bootloader's copy ends with the old or the new app running, never worse",
        tags: [.nightly, .powerCut, .qualification],
        requires: [.powerControl, .controlRequests],
        knownIssues: [
            KnownIssue(
                on: .generations([.gen2]),
                "the Gen 2 bootloader clears every module slot before copying, so a cut copy is not redone: the board ends in safe mode or on its factory app",
                source: "DO-1.2.1 flash_mal.c FLASH_UpdateModules; reference §5.2 item 10")
        ],
        powerCutsOver: .apply
    ) { bench, cut in
        let old = bench.image(.knownGoodApp)
        let next = bench.image(.nextApp)
        let ota = try bench.facet((any ControlRequestUpdates).self)
        try await bench.step("update, cutting power at \(cut)") {
            try await ota.update(to: next, cuttingPower: cut)
        }
        try await bench.recordPowerCut()
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(mode, equals: .running, "mode after the cut")
        let running = try await bench.runningApp()?.fingerprint
        try await bench.expect(running == old.fingerprint || running == next.fingerprint, "the old or the new app running (running \(running.map { String($0.prefix(12)) } ?? "none"))")
        try await bench.expect(try await bench.modules().allSatisfy(\.valid), "every module valid")
    }
}
