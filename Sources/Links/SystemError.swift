/// Device OS system error codes (services/inc/system_error.h) that control requests and
/// OTA report, with the default messages Device OS gives them.
public enum SystemError: Int32, Hashable, Sendable, CaseIterable {
    case none = 0
    case unknown = -100
    case busy = -110
    case notSupported = -120
    case notAllowed = -130
    case cancelled = -140
    case timeout = -160
    case notFound = -170
    case tooLarge = -190
    case invalidState = -210
    case noMemory = -260
    case invalidArgument = -270
    case badData = -280
    case outOfRange = -290
    case otaModuleNotFound = -1300
    case otaUnsupportedModule = -1310
    case otaValidationFailed = -1320
    case otaIntegrityCheckFailed = -1330
    case otaDependencyCheckFailed = -1340
    case otaInvalidAddress = -1350
    case otaInvalidSize = -1351
    case otaInvalidPlatform = -1360
    case otaInvalidFormat = -1370
    case otaUpdatesDisabled = -1380

    /// The `SYSTEM_ERROR_…` name.
    public var name: String {
        switch self {
        case .none: "SYSTEM_ERROR_NONE"
        case .unknown: "SYSTEM_ERROR_UNKNOWN"
        case .busy: "SYSTEM_ERROR_BUSY"
        case .notSupported: "SYSTEM_ERROR_NOT_SUPPORTED"
        case .notAllowed: "SYSTEM_ERROR_NOT_ALLOWED"
        case .cancelled: "SYSTEM_ERROR_CANCELLED"
        case .timeout: "SYSTEM_ERROR_TIMEOUT"
        case .notFound: "SYSTEM_ERROR_NOT_FOUND"
        case .tooLarge: "SYSTEM_ERROR_TOO_LARGE"
        case .invalidState: "SYSTEM_ERROR_INVALID_STATE"
        case .noMemory: "SYSTEM_ERROR_NO_MEMORY"
        case .invalidArgument: "SYSTEM_ERROR_INVALID_ARGUMENT"
        case .badData: "SYSTEM_ERROR_BAD_DATA"
        case .outOfRange: "SYSTEM_ERROR_OUT_OF_RANGE"
        case .otaModuleNotFound: "SYSTEM_ERROR_OTA_MODULE_NOT_FOUND"
        case .otaUnsupportedModule: "SYSTEM_ERROR_OTA_UNSUPPORTED_MODULE"
        case .otaValidationFailed: "SYSTEM_ERROR_OTA_VALIDATION_FAILED"
        case .otaIntegrityCheckFailed: "SYSTEM_ERROR_OTA_INTEGRITY_CHECK_FAILED"
        case .otaDependencyCheckFailed: "SYSTEM_ERROR_OTA_DEPENDENCY_CHECK_FAILED"
        case .otaInvalidAddress: "SYSTEM_ERROR_OTA_INVALID_ADDRESS"
        case .otaInvalidSize: "SYSTEM_ERROR_OTA_INVALID_SIZE"
        case .otaInvalidPlatform: "SYSTEM_ERROR_OTA_INVALID_PLATFORM"
        case .otaInvalidFormat: "SYSTEM_ERROR_OTA_INVALID_FORMAT"
        case .otaUpdatesDisabled: "SYSTEM_ERROR_OTA_UPDATES_DISABLED"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
