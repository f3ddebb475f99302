/// What a board runs, as the bench reports it.
public enum BoardMode: Hashable, Sendable, CustomStringConvertible {
    case off
    case running
    case safeMode(String)
    case listening
    case dfu
    case unreachable(String)

    public var description: String {
        switch self {
        case .off: "off"
        case .running: "running"
        case .safeMode(let reason): "safe mode (\(reason))"
        case .listening: "listening"
        case .dfu: "DFU"
        case .unreachable(let reason): "unreachable (\(reason))"
        }
    }

    public var isSafeMode: Bool { if case .safeMode = self { true } else { false } }
}
