/// How the bench reaches an emulated board's serial port (the inventory's `serial` key).
public enum SerialTransport: String, Hashable, Sendable, CaseIterable {
    /// The emulator's serial face called directly.
    case inProcess = "in-process"
    /// A pseudo-terminal per board, opened through the termios port and captured to a log.
    case pseudoTerminal = "pty"
}
