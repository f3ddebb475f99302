import Links
import ScenarioAPI

/// Proof that a board's power switch really cuts its power, before any power-cut scenario
/// trusts it. Hubs that claim per-port switching but never cut VBUS, ganged hubs and USB 3
/// twins left powered (uhubctl issues #319, #269, #540) all look like a switch that works.
/// After off the board must leave (USB, or the emulator's power) and stay gone and silent;
/// after on it must come back.
public enum PowerCutVerification {
    public struct Limits: Sendable {
        /// How long the board may take to leave after power off.
        public var leave: Duration = .seconds(5)
        /// How long it must then stay gone and print nothing.
        public var silence: Duration = .seconds(2)
        /// How long it may take to run Device OS again after power on.
        public var comeBack: Duration = .seconds(30)

        public init() {}

        /// An emulated board's supply answers at once and nothing else powers it: the check
        /// still switches it off and on, without the real board's silent wait.
        public static var emulated: Limits {
            var limits = Limits()
            limits.leave = .seconds(1)
            limits.silence = .zero
            limits.comeBack = .seconds(10)
            return limits
        }
    }

    /// How often the board is looked at while the check waits.
    static let poll = Duration.milliseconds(20)

    /// nil when the switch is proven; otherwise why the board is power-unverified. Its waits
    /// are on `clock`: wall time for a run, a manual clock for a test of the waits themselves.
    public static func check<C: Clock>(_ board: any Board, limits: Limits = Limits(), clock: C = ContinuousClock()) async -> String?
    where C.Duration == Duration {
        guard let power = board.facet((any PowerControl).self) else { return "has no power switch" }
        let console = board.facet((any Console).self)
        do { try await power.powerOff() } catch { return "power off failed: \(error)" }
        let deadline = clock.now.advanced(by: limits.leave)
        while await board.mode() != .off {
            guard clock.now < deadline else {
                try? await power.powerOn()
                return "still \(await board.mode()) \(limits.leave) after power off: the switch does not cut its power"
            }
            try? await clock.sleep(for: poll)
        }
        let printed = await console?.lines().count ?? 0
        let quietUntil = clock.now.advanced(by: limits.silence)
        while clock.now < quietUntil {
            let mode = await board.mode()
            guard mode == .off else {
                try? await power.powerOn()
                return "came back (\(mode)) while switched off: something else powers it"
            }
            try? await clock.sleep(for: poll)
        }
        if await console?.lines().count ?? 0 > printed {
            try? await power.powerOn()
            return "printed on its console while switched off: something else powers it"
        }
        do { try await power.powerOn() } catch { return "power on failed: \(error)" }
        do { _ = try await board.waitUntilUp(timeout: limits.comeBack) } catch {
            return "did not come back after power on: \(error)"
        }
        return nil
    }
}
