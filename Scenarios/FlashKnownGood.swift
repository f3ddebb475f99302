import ScenarioAPI

extension Scenario {
    static let flashKnownGood = Scenario(
        "dfu/flash-known-good",
        "Flashing the known-good app by DFU leaves it running with every module valid",
        tags: [.nightly, .smoke, .dfu, .qualification],
        requires: [.dfu],
        probesDefects: false
    ) { bench in
        let app = bench.image(.knownGoodApp)
        let dfu = try bench.facet((any DFUFlashing).self)
        let started = ContinuousClock.now
        try await bench.step("flash \(app) by DFU") { try await dfu.flash(app) }
        try await bench.measure("dfu.flash_seconds", (ContinuousClock.now - started).secondsValue, unit: "s")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: app.fingerprint, "running app")
        try await bench.expect(try await bench.modules().allSatisfy(\.valid), "every module valid")
    }
}

extension Duration {
    var secondsValue: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
