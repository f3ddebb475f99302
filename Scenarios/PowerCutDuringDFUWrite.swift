import ScenarioAPI

extension Scenario {
    static let powerCutDuringDFUWrite = Scenario(
        "dfu/power-cut-during-write",
        "A power cut in the middle of a DFU write leaves a board that DFU can still reflash",
        tags: [.nightly, .powerCut, .dfu, .qualification],
        requires: [.powerControl, .dfu],
        // No seeded defect touches the bootloader's DFU write.
        probesDefects: false,
        powerCutsOver: .dfuWrite
    ) { bench, cut in
        let next = bench.image(.nextApp)
        let dfu = try bench.facet((any DFUFlashing).self), power = try bench.facet((any PowerControl).self)
        try await bench.step("flash the next app by DFU, cutting power at \(cut)") {
            try await dfu.flash(next, cuttingPower: cut)
        }
        try await bench.recordPowerCut()
        // A half-written app cannot run: safe mode or DFU are both fine, gone is not.
        let mode = try await bench.step("wait for the board") {
            while true {
                let mode = await bench.board.mode()
                switch mode {
                case .running, .safeMode, .listening, .dfu: return mode
                default: try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
        // Cut before its last block, the app is incomplete and must not run as if it were whole.
        let landed = await power.lastPowerCut()?.sentAtCut ?? 0
        if landed < next.bytes.count {
            let running = mode == .running ? try await bench.runningApp()?.fingerprint : nil
            try await bench.expect(running != next.fingerprint, "the app cut at byte \(landed) of \(next.bytes.count) not running")
        }
        let good = bench.image(.knownGoodApp)
        try await bench.step("reflash the known-good app by DFU") { try await dfu.flash(good) }
        let after = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(after, equals: .running, "mode after the reflash")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: good.fingerprint, "running app (the known-good one)")
    }
}
