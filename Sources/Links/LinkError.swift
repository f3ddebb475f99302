/// How a transfer on a link fails, whatever carries it.
public enum LinkError: Error, Hashable, Sendable {
    /// The device stalled the control endpoint: it refused the request.
    case stalled
    case timedOut
    /// The device is gone (unplugged, reset, powered off).
    case disconnected
    case other(String)
}

extension LinkError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .stalled: "the device stalled the request"
        case .timedOut: "the device did not answer in time"
        case .disconnected: "the device is not connected"
        case .other(let text): text
        }
    }
}
