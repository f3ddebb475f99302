/// Why a file could not be read as a Particle module at all. Anything less severe is a
/// `Finding` on the module that was read.
public enum ModuleReadError: Error, Hashable, Sendable {
    case unreadable(path: String, reason: String)
    case empty
    case tooLarge(length: Int, limit: Int)
    case noModulePrefix(length: Int)
}

extension ModuleReadError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .empty: "the file is empty"
        case .tooLarge(let length, let limit):
            "the file is \(length) bytes, more than any Particle module (\(limit) bytes at most)"
        case .noModulePrefix(let length): "no Particle module prefix found in \(length) bytes"
        }
    }
}
