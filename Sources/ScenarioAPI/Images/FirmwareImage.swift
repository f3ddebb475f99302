import Firmware

/// A module image with where it came from.
public struct FirmwareImage: Hashable, Sendable, CustomStringConvertible {
    public var role: FirmwareRole?
    public var bytes: [UInt8]
    public var label: String

    public init(bytes: [UInt8], label: String, role: FirmwareRole? = nil) {
        self.bytes = bytes
        self.label = label
        self.role = role
    }

    public var module: FirmwareModule? { (try? ModuleFile(bytes: bytes))?.modules.first }
    /// The SHA-256 (hex) in the image's suffix, as a board will report it once installed.
    public var fingerprint: String? { module?.suffix?.sha256.hexString }
    public var description: String { label }
}
