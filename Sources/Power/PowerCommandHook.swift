import Links

/// The argv arrays an inventory gives to switch a board's power by running a command
/// (a relay, a PDU): no shell and no string interpolation, the board's name passed as
/// one more argument.
public struct PowerCommandHook: Hashable, Sendable {
    public var on: [String]
    public var off: [String]

    public init(on: [String], off: [String]) {
        self.on = on
        self.off = off
    }

    /// The argv that switches `board` to `state`.
    public func arguments(for state: PowerState, board: String) -> [String]? {
        switch state {
        case .on: on.isEmpty ? nil : on + [board]
        case .off: off.isEmpty ? nil : off + [board]
        case .unknown: nil
        }
    }
}
