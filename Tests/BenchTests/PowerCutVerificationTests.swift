@testable import Bench
@testable import Boards
import Emulator
import Firmware
import Links
import Scenarios
import Testing

/// A hub port that claims to switch but never cuts VBUS (uhubctl #319): off does nothing.
struct SwitchThatNeverCuts: PowerSwitch {
    func setPower(_ on: Bool) async throws {}
    func state() async throws -> PowerState { .on }
}

/// A ganged or twin-powered port: off cuts, but the board is back 30 ms later on `clock`.
struct SwitchBackfedByTwin: PowerSwitch {
    let board: BoardEmulator
    let clock: ManualClock
    func setPower(_ on: Bool) async throws {
        try await EmulatedPowerSwitch(board: board).setPower(on)
        if !on {
            let (board, clock) = (self.board, self.clock)
            Task {
                try await clock.sleep(for: .milliseconds(30))
                await board.update { $0.powerOn() }
            }
        }
    }
    func state() async throws -> PowerState { .off }
}

/// Runs `body` while moving `clock` on in `step`s each time something sleeps on it; returns
/// the body's result and how much manual time it took.
func driving<T: Sendable>(_ clock: ManualClock, step: Duration = .milliseconds(10),
                          _ body: @escaping @Sendable () async -> T) async -> (T, Duration) {
    let start = clock.now
    let task = Task { await body() }
    let done = Counter()
    let watcher = Task {
        _ = await task.value
        _ = done.next()
    }
    while done.value.withLockedValue({ $0 }) == 0 {
        if clock.sleeperCount > 0 { clock.advance(by: step) }
        await Task.yield()
    }
    _ = await watcher.value
    return (await task.value, start.duration(to: clock.now))
}

@Suite("Verified power cuts", .timeLimit(.minutes(10)))
struct PowerCutVerificationTests {
    static var quick: PowerCutVerification.Limits {
        var limits = PowerCutVerification.Limits()
        limits.leave = .milliseconds(200)
        limits.silence = .milliseconds(200)
        limits.comeBack = .seconds(5)
        return limits
    }

    @Test("A switch that cuts passes; one that never cuts, or whose board comes back while off, is named for it")
    func verdicts() async throws {
        let boron = Platform(buildName: "boron")!
        let good = try EmulatedBoard(name: "good", platform: boron)
        #expect(await PowerCutVerification.check(good, limits: Self.quick) == nil)
        #expect(await good.mode() == .running)

        // The timers on a manual clock: a stuck switch is named after exactly the leave limit of
        // clock time, however busy the machine; no wall time passes.
        let clock = ManualClock()
        let stuck = try EmulatedBoard(name: "stuck", platform: boron, powerSwitch: { _ in SwitchThatNeverCuts() })
        let (stuckVerdict, waited) = await driving(clock) { await PowerCutVerification.check(stuck, limits: Self.quick, clock: clock) }
        #expect(stuckVerdict?.contains("does not cut its power") == true, "\(String(describing: stuckVerdict))")
        #expect(waited >= Self.quick.leave && waited <= Self.quick.leave + PowerCutVerification.poll, "\(waited)")

        // Back 30 ms (of the same clock) after the cut, well inside the silence: caught as powered from elsewhere.
        let backfed = try EmulatedBoard(name: "backfed", platform: boron, powerSwitch: { SwitchBackfedByTwin(board: $0, clock: clock) })
        let (backfedVerdict, took) = await driving(clock) { await PowerCutVerification.check(backfed, limits: Self.quick, clock: clock) }
        #expect(backfedVerdict?.contains("came back") == true, "\(String(describing: backfedVerdict))")
        #expect(took < Self.quick.silence, "named as soon as it came back: \(took)")
    }

    @Test("The runner skips power-cut scenarios on a power-unverified board, with the reason, and runs the rest")
    func runnerSkips() async throws {
        let boron = Platform(buildName: "boron")!
        let stuck = try EmulatedBoard(name: "stuck", platform: boron, powerSwitch: { _ in SwitchThatNeverCuts() })
        let library = try ProvisionedTemplates.shared.template(for: boron).library
        let system = stuck.firmware.modules.compactMap { bytes -> FirmwareImage? in
            guard let module = (try? ModuleFile(bytes: bytes))?.modules.first, module.function == .system else { return nil }
            return FirmwareImage(bytes: bytes, label: "system")
        }
        let entry = BoardUnderTest(board: stuck, firmware: library, emulated: true, cleanImages: system + [library.image(.knownGoodApp)])
        var options = RunOptions()
        options.scenarioPatterns = ["ota/power-cut-*", "ota/happy-path"]
        options.emulatedPowerCheck = Self.quick
        let summary = try await Runner(scenarios: ScenarioLibrary.all, boards: [entry], store: nil, options: options).run()
        let cuts = summary.results.filter { $0.scenario.hasPrefix("ota/power-cut-") }
        #expect(!cuts.isEmpty)
        #expect(cuts.allSatisfy { $0.status == .notRun && ($0.message ?? "").hasPrefix("power-unverified: still running") })
        #expect(summary.results.contains { $0.scenario == "ota/happy-path" && $0.status == .passed })
        #expect(summary.quarantined.isEmpty)
    }
}
