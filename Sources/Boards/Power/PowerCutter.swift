import Links
import ScenarioAPI

/// Throws a real board's power switch once, when a cut's trigger fires, and keeps what happened:
/// the bytes sent at the trigger and at the cut, and the switch's latency.
actor PowerCutter {
    let powerSwitch: any PowerSwitch
    let trigger: PowerCut.Trigger
    let offTime: Duration
    let clock: any Clock<Duration>
    private var sent = 0
    private(set) var record: PowerCutRecord?
    private(set) var failure: (any Error)?

    init(powerSwitch: any PowerSwitch, trigger: PowerCut.Trigger, offTime: Duration, clock: any Clock<Duration>) {
        self.powerSwitch = powerSwitch
        self.trigger = trigger
        self.offTime = offTime
        self.clock = clock
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
        let fired = Stopwatch(clock)
        do {
            try await powerSwitch.setPower(false)
            record = PowerCutRecord(trigger: trigger, sentAtTrigger: firedAt, sentAtCut: sent, latency: fired.elapsed,
                                    offTime: offTime)
        } catch {
            failure = error
        }
    }
}

/// A power cut during an update of a board whose power is switched from outside: the transfer
/// runs, the trigger fires (at a byte count, on a console line, after a delay from an event),
/// the switch cuts, the board stays off for the off-time and is switched back on. The caller
/// then waits for the board to come back and asserts on what it runs.
struct TriggeredPowerCut: Sendable {
    var board: String
    var cut: PowerCut
    var powerSwitch: any PowerSwitch
    var offTime: Duration
    var applyWindow: Duration
    /// Delays, the apply window, the off-time and the switch's latency run on it: host time for
    /// any board (an emulated transfer takes no emulated time), a manual clock in tests.
    var clock: any Clock<Duration>
    /// Returns once the board printed a line containing the text, after that many lines.
    var waitForConsoleLine: @Sendable (String, Int) async throws -> Void
    /// Returns once the board has left USB to apply the update.
    var waitUntilGone: @Sendable () async throws -> Void

    typealias Progress = @Sendable (Int, Int) async -> Void

    func run(imageSize: Int, consoleLinesBefore: Int, transfer: @Sendable (@escaping Progress) async throws -> Void) async throws -> PowerCutRecord {
        let cutter = PowerCutter(powerSwitch: powerSwitch, trigger: cut.trigger, offTime: offTime, clock: clock)
        let target: Int? = switch (cut.phase, cut.trigger) {
        case (.download, .fraction(let fraction)), (.dfuWrite, .fraction(let fraction)): Int(Double(imageSize) * fraction)
        case (_, .byteOffset(let bytes)): bytes
        default: nil
        }
        // Triggers that fire on their own clock run beside the transfer.
        let watcher = Task { [cut, clock, waitForConsoleLine] in
            switch cut.trigger {
            case .consoleLine(let text):
                try await waitForConsoleLine(text, consoleLinesBefore)
                await cutter.cut()
            case .delay(let delay, .transferStarted):
                try await clock.sleep(for: delay)
                await cutter.cut()
            default: break
            }
        }
        defer { watcher.cancel() }
        var transferError: (any Error)?
        do { try await transfer { sent, _ in await cutter.sent(sent, target: target) } } catch { transferError = error }

        if transferError == nil, await cutter.record == nil {
            // The board took the image and resets to apply it: the later triggers fire now.
            switch (cut.phase, cut.trigger) {
            case (.apply, .fraction(let fraction)):
                try await waitUntilGone()
                try await clock.sleep(for: applyWindow * fraction)
                await cutter.cut()
            case (_, .delay(let delay, .transferFinished)):
                try await clock.sleep(for: delay)
                await cutter.cut()
            case (_, .delay(let delay, .boardLeft)):
                try await waitUntilGone()
                try await clock.sleep(for: delay)
                await cutter.cut()
            case (_, .consoleLine):
                _ = await watcher.result
            default: break
            }
        }
        if let failure = await cutter.failure {
            throw BoardError(board: board, operation: "power cut", .bench("the switch failed to cut: \(failure)"))
        }
        guard let record = await cutter.record else {
            if let transferError { throw transferError }
            throw BoardError(board: board, operation: "power cut", .bench("the trigger (\(cut.trigger)) never fired"))
        }
        if target != nil, transferError == nil {
            // The image was cut off mid-transfer, yet the board took the rest: power still reached it.
            try? await powerSwitch.setPower(true)
            throw BoardError(board: board, operation: "power cut",
                             .bench("the board finished the transfer after its power was cut: the switch does not cut it"))
        }
        try await clock.sleep(for: record.offTime)
        do { try await powerSwitch.setPower(true) } catch {
            throw BoardError(board: board, operation: "power on after the cut", from: error)
        }
        return record
    }
}
