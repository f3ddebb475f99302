/// A module as a board's module table lists it: what the dependency rules look at.
public struct InstalledModule: Hashable, Sendable {
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16
    public var dependencies: [ModuleDependency]

    public init(function: ModuleFunction, index: UInt8, version: UInt16, dependencies: [ModuleDependency] = []) {
        self.function = function
        self.index = index
        self.version = version
        self.dependencies = dependencies.filter(\.isUsed)
    }

    public init(_ module: FirmwareModule) {
        self.init(function: module.function, index: module.index, version: module.version, dependencies: module.prefix.dependencies)
    }

    /// Same function and index: the module this one would replace.
    public func occupiesSameSlot(as other: InstalledModule) -> Bool {
        function == other.function && index == other.index
    }
}

extension InstalledModule: CustomStringConvertible {
    public var description: String { "\(function) \(index) v\(version)" }
}
