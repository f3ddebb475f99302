import Foundation
import Links
import Power

/// A real board's power switch as a person at the bench drives it: on, off, cycle, and what the
/// switch can say about its state.
public struct BoardPowerSwitch: Sendable {
    public enum Action: Sendable {
        case on, off, status
        case cycle(offFor: Duration)
    }

    /// What the switch says after an action.
    public struct Report: Sendable {
        /// on, off, or why it cannot tell.
        public var state: String
        /// What a command switch printed, trimmed; empty for a hub port.
        public var output: String
        /// The hub port, for a switch that is one.
        public var hubPort: String?
    }

    private let power: any PowerSwitch

    public init(_ connection: PowerConnection, board: String) {
        power = connection.powerSwitch(for: board)
    }

    public func perform(_ action: Action, clock: any Clock<Duration> = ContinuousClock()) async throws -> Report {
        switch action {
        case .on: try await power.setPower(true)
        case .off: try await power.setPower(false)
        case let .cycle(offFor): try await power.cycle(offFor: offFor, clock: clock)
        case .status: break
        }
        if let command = power as? CommandPowerSwitch {
            let output = command.lastOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            if case .status = action {
                return Report(state: "unknown (a command switch cannot read the power back)", output: output)
            }
            return Report(state: try await power.state().rawValue, output: output)
        }
        return Report(state: try await power.state().rawValue, output: "", hubPort: (power as? HubPortPowerSwitch).map { "\($0.hubPort)" })
    }
}
