import ScenarioAPI

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
        let cloud = try bench.facet((any CloudUpdates).self)
        try await bench.step("update to \(next) through the cloud") { try await cloud.update(to: next) }
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(mode, equals: .running, "mode after the update")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }
}

extension Scenario {
    static let cloudPowerCutDuringTransfer = Scenario(
        "cloud/power-cut-during-transfer",
        "A power cut while a cloud update downloads leaves the old app running; the cloud's next attempt starts over and installs it",
        tags: [.nightly, .powerCut, .ota],
        requires: [.cloudOTA, .cloudPowerCut, .powerControl],
        probesDefects: false,
        powerCutsOver: .download
    ) { bench, cut in
        let old = bench.image(.knownGoodApp), next = bench.image(.nextApp)
        let cloud = try bench.facet((any CloudUpdates).self), cutting = try bench.facet((any CloudPowerCuts).self)
        try await bench.step("update through the cloud, cutting power at \(cut)") { try await cutting.update(to: next, cuttingPower: cut) }
        try await bench.recordPowerCut()
        let mode = try await bench.step("wait for the board") { try await bench.board.waitUntilUp(timeout: .seconds(30)) }
        try await bench.expect(mode, equals: .running, "mode after the cut")
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: old.fingerprint, "running app (the old one)")
        try await bench.expect(try await bench.modules().allSatisfy(\.valid), "every module valid")
        // The partial file went with the RAM: the next transfer starts from the beginning.
        try await bench.step("update through the cloud again") { try await cloud.update(to: next) }
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app (the new one)")
    }

    static let cloudUpdateRefusedWhileDisabled = Scenario(
        "cloud/refused-while-updates-disabled",
        "A cloud update to a board whose app disabled updates is refused by the board and reported failed by the cloud; enabled, it goes through",
        tags: [.nightly, .updateControl, .ota],
        requires: [.cloudOTA, .updateControl]
    ) { bench in
        let old = bench.image(.knownGoodApp), next = bench.image(.nextApp)
        let cloud = try bench.facet((any CloudUpdates).self), control = try bench.facet((any UpdateControl).self)
        try await control.setUpdatesEnabled(false)
        try await bench.expectFailure("a cloud update while disabled", because: "the cloud reports the flash failed", matching: {
            if case .cloudReportedFailure = $0 { true } else { false }
        }) {
            try await cloud.update(to: next)
        }
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: old.fingerprint, "running app (the old one)")
        try await control.setUpdatesEnabled(true)
        try await bench.step("update after enabling") { try await cloud.update(to: next) }
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: next.fingerprint, "running app")
    }
}
