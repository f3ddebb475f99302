import ScenarioAPI

extension Scenario {
    static let dfuRecoveryOfBrokenSystem = Scenario(
        "recovery/dfu-recovery-of-broken-system",
        "A board whose system part is damaged stays in DFU, and a DFU reflash brings it back",
        tags: [.nightly, .recovery, .dfu, .qualification],
        requires: [.dfu],
        platforms: .generations([.gen3]),
        probesDefects: false
    ) { bench in
        var damaged = bench.image(.nextSystemPart)
        damaged.bytes[damaged.bytes.count / 2] ^= 0x08
        damaged.label = "damaged system part"
        let broken = damaged
        let dfu = try bench.facet((any DFUFlashing).self)
        // DFU takes any bytes; only the boot after the leave judges them. A write that failed
        // would also leave the board in DFU, so the write itself must succeed.
        try await bench.step("flash a damaged system part by DFU") { try await dfu.flash(broken) }
        try await bench.expect(await bench.board.mode(), equals: .dfu, "mode with the system part damaged")
        let good = bench.image(.nextSystemPart)
        try await bench.step("reflash the system part by DFU") { try await dfu.flash(good) }
        try await bench.expect(await bench.board.mode(), equals: .running, "mode after the reflash")
    }
}
