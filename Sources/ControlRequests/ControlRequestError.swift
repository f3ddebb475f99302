import Links

/// How a control request fails on the host side.
public enum ControlRequestError: Error, Hashable, Sendable {
    /// The device answered with a system error.
    case failed(ControlRequestType, result: Int32)
    case status(ControlRequestType, ServiceStatus)
    case timedOut(ControlRequestType)
    case badReply(ControlRequestType, String)
    case payloadTooLarge(Int)

    /// The Device OS error, when the device reported one.
    public var systemError: SystemError? {
        if case .failed(_, let result) = self { return SystemError(rawValue: result) }
        return nil
    }
}

extension ControlRequestError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .failed(let type, let result):
            "request \(type) failed: \(SystemError(rawValue: result)?.name ?? "system error \(result)")"
        case .status(let type, let status): "request \(type): the device answered \(status)"
        case .timedOut(let type): "request \(type) timed out"
        case .badReply(let type, let reason): "request \(type): \(reason)"
        case .payloadTooLarge(let size): "a payload of \(size) bytes exceeds the 65535 the device takes"
        }
    }
}
