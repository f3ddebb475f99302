import Firmware

/// Why Device OS refused or ended an update, with the system error it reports (§4, §6.3, §8.3).
public enum UpdateError: Error, Hashable, Sendable {
    case updatesDisabled
    case invalidSize(Int, maximum: Int)
    case outOfRange
    case invalidState(String)
    case moduleNotFound(String)
    case rejected(Incompatibility)
    case notRunning(EmulatedMode)

    public var systemError: String {
        switch self {
        case .updatesDisabled: "SYSTEM_ERROR_OTA_UPDATES_DISABLED"
        case .invalidSize: "SYSTEM_ERROR_OTA_INVALID_SIZE"
        case .outOfRange: "SYSTEM_ERROR_OUT_OF_RANGE"
        case .invalidState, .notRunning: "SYSTEM_ERROR_INVALID_STATE"
        case .moduleNotFound: "SYSTEM_ERROR_OTA_MODULE_NOT_FOUND"
        case .rejected(let reason): reason.systemError
        }
    }
}

extension UpdateError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .updatesDisabled: "updates are disabled on the board"
        case .invalidSize(let size, let maximum): "an update of \(size) bytes does not fit the \(maximum)-byte staging region"
        case .outOfRange: "data past the announced size"
        case .invalidState(let reason): "invalid state: \(reason)"
        case .moduleNotFound(let reason): "no module in the received image: \(reason)"
        case .rejected(let reason): "the board refused the image: \(reason)"
        case .notRunning(let mode): "the board is in \(mode.name), not running Device OS"
        }
    }
}
