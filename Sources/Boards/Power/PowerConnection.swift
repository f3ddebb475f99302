import Links
import Power

/// How a real board's power is switched, as its inventory entry says: commands to run, or the
/// port of a hub that switches each port (what uhubctl drives).
public enum PowerConnection: Hashable, Sendable {
    /// Argv to run with no shell for on and off, the board's name appended; each may take `timeout`.
    case commands(on: [String], off: [String], timeout: Duration)
    /// A hub port: the hub's location (`1-1.4`, as the kernel names it) and the port number.
    case hubPort(location: String, port: Int)

    /// The switch for the board named `board`.
    public func powerSwitch(for board: String) -> any PowerSwitch {
        switch self {
        case let .commands(on, off, timeout):
            CommandPowerSwitch(hook: PowerCommandHook(on: on, off: off), board: board, timeout: timeout)
        case let .hubPort(location, port):
            HubPortPowerSwitch(HubPort(location: location, port: port))
        }
    }
}
