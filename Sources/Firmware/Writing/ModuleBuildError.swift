/// Why `ModuleBuilder` could not make the module asked for.
public enum ModuleBuildError: Error, Hashable, Sendable {
    case tooManyDependencies(Int)
    case noSlot(function: ModuleFunction, index: UInt8, platform: String)
    case invalidFlags(String)
    case productIDTooLarge(UInt32)
    case addressOverflow(start: UInt32, size: Int)
    case compressionFailed(String)
}

extension ModuleBuildError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .tooManyDependencies(let count): "a module prefix holds two dependencies, not \(count)"
        case .noSlot(let function, let index, let platform):
            "\(platform) has no slot for \(function) \(index); give a start address"
        case .invalidFlags(let reason): "invalid flags: \(reason)"
        case .productIDTooLarge(let id): "product id \(id) does not fit the 16-bit field Device OS gives it"
        case .addressOverflow(let start, let size): "a module of \(size) bytes at \(hex(start)) runs past 4 GiB"
        case .compressionFailed(let reason): "compression failed: \(reason)"
        }
    }
}
