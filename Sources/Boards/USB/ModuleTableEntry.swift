import ControlRequests
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
    /// The SHA-256 (hex) of the module's suffix; empty where the board does not report it.
    public var fingerprint: String
    public var dependencies: [ModuleDependency]
}

extension ModuleTableEntry {
    /// A row of the list Device OS sent before 5.6.0 (every Gen 2 release): no hash, no maximum
    /// size, and of the checks only integrity and dependencies, as failed flags.
    init(deprecated module: Particle_Ctrl_GetModuleInfoReply.Module) {
        let failed = module.validity
        let integrityFailed = failed & UInt32(Particle_Ctrl_FirmwareModuleValidityFlag.integrityCheckFailed.rawValue) != 0
        let dependenciesFailed = failed & UInt32(Particle_Ctrl_FirmwareModuleValidityFlag.dependencyCheckFailed.rawValue) != 0
        self.init(function: Self.function(module.type), index: UInt8(truncatingIfNeeded: module.index),
                  version: UInt16(truncatingIfNeeded: module.version), size: Int(module.size), maxSize: 0,
                  checks: [.init(name: "Integrity", checked: true, passed: !integrityFailed),
                           .init(name: "Address Range", checked: false, passed: false),
                           .init(name: "Platform", checked: false, passed: false),
                           .init(name: "Dependencies", checked: true, passed: !dependenciesFailed)],
                  valid: failed == 0, fingerprint: "",
                  dependencies: module.dependencies.map {
                      ModuleDependency(function: Self.function($0.type), index: UInt8(truncatingIfNeeded: $0.index),
                                       version: UInt16(truncatingIfNeeded: $0.version))
                  })
    }

    /// The deprecated list numbers functions its own way (control.proto FirmwareModuleType).
    static func function(_ type: Particle_Ctrl_FirmwareModuleType) -> ModuleFunction {
        switch type {
        case .bootloader: .bootloader
        case .systemPart: .system
        case .userPart: .user
        case .monoFirmware: .mono
        case .ncpFirmware: .ncp
        case .radioStack: .radio
        default: .none
        }
    }

    public var summary: ModuleSummary {
        ModuleSummary(function: function, index: index, version: version, size: size, fingerprint: fingerprint, valid: valid, dependencies: dependencies)
    }
}
