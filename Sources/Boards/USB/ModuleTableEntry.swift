import Firmware
import ScenarioAPI

/// One row of a board's module table as Device OS reports it over USB, with each check it
/// ran on the module, in the spirit of `particle serial inspect`.
public struct ModuleTableEntry: Hashable, Sendable {
    public struct Check: Hashable, Sendable {
        /// Integrity, Address Range, Platform or Dependencies.
        public var name: String
        public var checked: Bool
        public var passed: Bool
    }

    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16
    public var size: Int
    public var maxSize: Int
    public var checks: [Check]
    /// Every check Device OS ran passed.
    public var valid: Bool
    /// The SHA-256 (hex) of the module's suffix.
    public var fingerprint: String
    public var dependencies: [ModuleDependency]
}

extension ModuleTableEntry {
    public var summary: ModuleSummary {
        ModuleSummary(function: function, index: index, version: version, size: size, fingerprint: fingerprint, valid: valid, dependencies: dependencies)
    }
}
