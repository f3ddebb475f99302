import ScenarioAPI

extension Scenario {
    static let minimalDisruption = Scenario(
        "ota/minimal-disruption",
        "The app keeps running while the image downloads; it restarts once, at the end",
        tags: [.nightly, .ota, .qualification],
        requires: [.controlRequests, .updateControl],
        probesDefects: false
    ) { bench in
        let ota = try bench.facet((any ControlRequestUpdates).self), control = try bench.facet((any UpdateControl).self)
        _ = await control.takeEvents()
        let started = ContinuousClock.now
        try await ota.update(to: bench.image(.nextApp), cuttingPower: nil)
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.measure("ota.total_seconds", (ContinuousClock.now - started).secondsValue, unit: "s")
        let events = await control.takeEvents()
        try await bench.expect(events.filter { $0 == .reset }.count, equals: 1, "resets during the update")
        let firstProgress = events.firstIndex(of: .firmwareUpdateProgress) ?? events.endIndex
        let reset = events.firstIndex(of: .reset) ?? events.startIndex
        try await bench.expect(firstProgress < reset, "the download before the only reset")
        try await bench.expect(events.contains(.firmwareUpdateComplete), "firmware_update/complete before the reset")
    }
}
