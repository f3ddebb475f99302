/// Single-key commands a board in listening mode answers on its USB serial console
/// (reference §7, §9): device id, system version, module table JSON, MAC address, and the
/// YMODEM receiver of Device OS before 6.0.0.
public enum ListeningModeCommand: Character, Hashable, Sendable, CaseIterable {
    case identify = "i"
    case version = "v"
    case modules = "s"
    case macAddress = "m"
    case flash = "f"
}
