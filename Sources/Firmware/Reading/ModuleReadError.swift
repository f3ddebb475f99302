/// Why a file could not be read as a Particle module at all. Anything less severe is a
/// `Finding` on the module that was read.
public enum ModuleReadError: Error, Hashable, Sendable {
    case unreadable(path: String, reason: String)
    case empty
    case tooLarge(length: Int, limit: Int)
    case noModulePrefix(length: Int)
    /// A prefix that passes every check but says the module is longer than the data.
    case truncated(length: Int, expected: Int, prefixOffset: Int)
    /// Laid out like a module (a prefix spanning the file, a CRC that holds), but for a module
    /// function Device OS does not have.
    case unknownModuleFunction(length: Int, prefixOffset: Int, platformID: UInt16, function: UInt8)
}

extension ModuleReadError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .empty: "the file is empty"
        case .tooLarge(let length, let limit):
            "the file is \(length) bytes, more than any Particle module (\(limit) bytes at most)"
        case .noModulePrefix(let length): "no Particle module prefix found in \(length) bytes"
        case .truncated(let length, let expected, let offset):
            "the file is cut short: the module prefix at offset 0x\(String(offset, radix: 16)) says the module is \(expected) bytes, "
                + "the file holds \(length) (\(expected - length) missing); copy or download it again"
        case .unknownModuleFunction(let length, let offset, let platform, let function):
            "not a module any board takes: the \(length) bytes hold a prefix at offset 0x\(String(offset, radix: 16)) "
                + "and a CRC that holds, but it names module function \(function), which Device OS does not have "
                + "(platform id \(platform))"
        }
    }
}
