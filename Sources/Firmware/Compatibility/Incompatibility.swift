/// Why a board would refuse an image, in the order Device OS checks (§4,
/// hal/src/nRF52840/ota_flash_hal.cpp: validityResultToSystemError, validateModules).
public enum Incompatibility: Error, Hashable, Sendable {
    /// INTEGRITY: the module's own checks fail (CRC, length, format).
    case corrupt(reasons: [String])
    /// PLATFORM: built for another platform.
    case wrongPlatform(image: PlatformID, board: PlatformID)
    /// The platform has no place for a module of this function and index, or (NCP) the
    /// module targets a coprocessor the board does not have.
    case unsupportedFunction(function: ModuleFunction, index: UInt8, reason: String)
    /// Larger than the slot it goes to (or than the platform's maximum app size).
    case tooLarge(size: Int, maximum: Int)
    /// RANGE: the module's addresses are not inside its slot.
    case addressOutOfRange(start: UInt32, end: UInt32, slotStart: UInt32, slotEnd: UInt64)
    /// DEPENDENCIES: a required module is missing or older than required.
    case unmetDependency(required: ModuleDependency, installedVersion: UInt16?)
    /// DEPENDENCIES_FULL: replacing the installed module would leave another system part
    /// with an unmet dependency.
    case breaksInstalledModule(dependent: InstalledModule, requires: ModuleDependency, incomingVersion: UInt16)

    /// The system error Device OS reports for it (ota_flash_hal.cpp).
    public var systemError: String {
        switch self {
        case .corrupt: "SYSTEM_ERROR_OTA_INTEGRITY_CHECK_FAILED"
        case .wrongPlatform: "SYSTEM_ERROR_OTA_INVALID_PLATFORM"
        case .unsupportedFunction: "SYSTEM_ERROR_OTA_UNSUPPORTED_MODULE"
        case .tooLarge: "SYSTEM_ERROR_OTA_INVALID_SIZE"
        case .addressOutOfRange: "SYSTEM_ERROR_OTA_INVALID_ADDRESS"
        case .unmetDependency, .breaksInstalledModule: "SYSTEM_ERROR_OTA_DEPENDENCY_CHECK_FAILED"
        }
    }
}

extension Incompatibility: CustomStringConvertible {
    public var description: String {
        switch self {
        case .corrupt(let reasons):
            "corrupt image: " + reasons.joined(separator: "; ")
        case .wrongPlatform(let image, let board):
            "wrong platform: the image is for \(image), the board is \(board)"
        case .unsupportedFunction(let function, let index, let reason):
            "unsupported module \(function) \(index): \(reason)"
        case .tooLarge(let size, let maximum):
            "too large: \(size) bytes, the slot holds \(maximum)"
        case .addressOutOfRange(let start, let end, let slotStart, let slotEnd):
            "address out of range: \(hex(start))–\(hex(end)) is not inside the slot \(hex(slotStart))–\(hex(slotEnd))"
        case .unmetDependency(let required, let installed):
            "unmet dependency: needs \(required.function) \(required.index) v\(required.version) or newer, "
                + (installed.map { "the board has v\($0)" } ?? "the board has none")
        case .breaksInstalledModule(let dependent, let requires, let incoming):
            "would break \(dependent): it needs \(requires.function) \(requires.index) v\(requires.version) or newer, the image is v\(incoming)"
        }
    }
}
