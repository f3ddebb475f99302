/// A module's requirement on another module: same function and index, at least this version (§4).
public struct ModuleDependency: Hashable, Sendable {
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16

    public init(function: ModuleFunction, index: UInt8, version: UInt16) {
        self.function = function
        self.index = index
        self.version = version
    }

    /// An unused dependency slot in the prefix.
    public static let unused = ModuleDependency(function: .none, index: 0, version: 0)

    public var isUsed: Bool { function != .none }
}

extension ModuleDependency: CustomStringConvertible {
    public var description: String { "\(function) \(index) v\(version)" }
}
