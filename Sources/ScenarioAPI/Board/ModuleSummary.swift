import Firmware

/// A module in a board's table, identified well enough to tell images apart.
public struct ModuleSummary: Hashable, Sendable, CustomStringConvertible {
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16
    public var size: Int
    /// The SHA-256 (hex) the module's suffix carries: the firmware's unique id, which tells two
    /// builds apart and which a board reports over USB as well as the emulator reads it.
    public var fingerprint: String
    public var valid: Bool
    public var dependencies: [ModuleDependency]

    public init(function: ModuleFunction, index: UInt8, version: UInt16, size: Int, fingerprint: String, valid: Bool,
                dependencies: [ModuleDependency] = []) {
        self.function = function
        self.index = index
        self.version = version
        self.size = size
        self.fingerprint = fingerprint
        self.valid = valid
        self.dependencies = dependencies
    }

    public var installed: InstalledModule {
        InstalledModule(function: function, index: index, version: version, dependencies: dependencies)
    }

    public var description: String {
        "\(function) \(index) v\(version), \(size) bytes, \(fingerprint.prefix(12))\(valid ? "" : " (INVALID)")"
    }
}
