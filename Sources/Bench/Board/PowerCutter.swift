import Links

/// Throws a real board's power switch once, when a cut's trigger fires, and keeps what happened:
/// the bytes sent at the trigger and at the cut, and the switch's latency.
actor PowerCutter {
    let powerSwitch: any PowerSwitch
    let trigger: PowerCut.Trigger
    let offTime: Duration
    private var sent = 0
    private(set) var record: PowerCutRecord?
    private(set) var failure: (any Error)?

    init(powerSwitch: any PowerSwitch, trigger: PowerCut.Trigger, offTime: Duration) {
        self.powerSwitch = powerSwitch
        self.trigger = trigger
        self.offTime = offTime
    }

    /// The host has sent `bytes` of the image. The transfer waits for this call, so a byte
    /// trigger cuts before the next chunk leaves: the cut lands on the chunk boundary.
    func sent(_ bytes: Int, target: Int?) async {
        sent = bytes
        if let target, bytes >= target { await cut() }
    }

    /// Cuts now, once; later calls do nothing.
    func cut() async {
        guard record == nil, failure == nil else { return }
        let firedAt = sent
        let fired = ContinuousClock.now
        do {
            try await powerSwitch.setPower(false)
            record = PowerCutRecord(trigger: trigger, sentAtTrigger: firedAt, sentAtCut: sent, latency: ContinuousClock.now - fired,
                                    offTime: offTime)
        } catch {
            failure = error
        }
    }
}
