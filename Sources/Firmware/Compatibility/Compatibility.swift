/// The compatibility rules Device OS applies before it accepts a module (§4). One function,
/// called by the emulator as its device-side guard and by the bench as its host-side guard.
public enum Compatibility {
    /// Which dependencies block an update.
    public enum DependencyPolicy: Hashable, Sendable {
        /// Every dependency must be met: what a host-side guard wants before flashing.
        case strict
        /// What HAL_FLASH_End applies to an OTA image (`userDepsOptional`): a user part's
        /// dependencies are not checked (the board accepts it and boots into safe mode until
        /// the missing parts arrive), nor is any module's second dependency on a bootloader.
        case userPartDependenciesOptional
    }

    /// Every reason `board` would refuse `module`, in the order Device OS checks them;
    /// empty when it would accept it.
    public static func check(
        _ module: FirmwareModule, on platform: Platform, installed: [InstalledModule],
        policy: DependencyPolicy = .strict
    ) -> CompatibilityVerdict {
        var problems: [Incompatibility] = []

        let errors = module.errors
        if !errors.isEmpty {
            problems.append(.corrupt(reasons: errors.map(\.message)))
        }
        if module.platformID != platform.id {
            problems.append(.wrongPlatform(image: module.platformID, board: platform.id))
        }

        if let slot = platform.slot(for: module.function, index: module.index) {
            if module.function == .ncp, let ncp = platform.ncp, module.prefix.reserved != ncp.mcuTarget {
                problems.append(.unsupportedFunction(function: module.function, index: module.index,
                    reason: "the NCP module targets MCU \(hex(module.prefix.reserved)), the board's \(ncp.name) is \(hex(ncp.mcuTarget))"))
            }
            let maximum = module.function == .user ? min(slot.size, platform.maximumAppSize) : slot.size
            if module.size > maximum {
                problems.append(.tooLarge(size: module.size, maximum: maximum))
            } else if slot.location != .coprocessor && !fits(module, in: slot) {
                problems.append(.addressOutOfRange(
                    start: module.startAddress, end: module.endAddress, slotStart: slot.start, slotEnd: slot.end))
            }
        } else if module.function == .asset {
            if platform.generation < .gen3 {
                problems.append(.unsupportedFunction(function: .asset, index: module.index,
                    reason: "\(platform.displayName) has no asset storage"))
            }
        } else {
            problems.append(.unsupportedFunction(function: module.function, index: module.index,
                reason: "\(platform.displayName) has no slot for it"))
        }

        let incoming = InstalledModule(module)
        // Only the prefix's two dependencies count here; DEPENDENCY extensions do not
        // (validate_module_dependencies).
        var required = [module.prefix.dependency, module.prefix.dependency2]
        if policy == .userPartDependenciesOptional {
            if module.function == .user {
                required = []
            } else if module.prefix.dependency2.function == .bootloader {
                required = [module.prefix.dependency]
            }
        }
        for required in required where required.isUsed {
            let installedVersion = installed.first { $0.function == required.function && $0.index == required.index }?.version
            if installedVersion.map({ $0 < required.version }) ?? true {
                problems.append(.unmetDependency(required: required, installedVersion: installedVersion))
            }
        }
        // DEPENDENCIES_FULL: only system parts are checked, and only other system parts that
        // depend on the one being replaced (validate_module_dependencies_full).
        if module.function == .system {
            for other in installed where other.function == .system && !other.occupiesSameSlot(as: incoming) {
                for requirement in other.dependencies
                where requirement.function == module.function && requirement.index == module.index
                    && module.version < requirement.version {
                    problems.append(.breaksInstalledModule(dependent: other, requires: requirement, incomingVersion: module.version))
                }
            }
        }
        return CompatibilityVerdict(problems: problems)
    }

    /// Whether the module's address range lies inside its slot as the slot's placement requires.
    static func fits(_ module: FirmwareModule, in slot: ModuleSlot) -> Bool {
        let start = UInt64(module.startAddress)
        let end = UInt64(module.endAddress) + 4
        guard start >= UInt64(slot.start), end <= slot.end else { return false }
        switch slot.placement {
        case .atStart: return module.startAddress == slot.start
        case .atEnd, .anywhere: return true
        }
    }
}

/// The answer of `Compatibility.check`.
public struct CompatibilityVerdict: Hashable, Sendable {
    public var problems: [Incompatibility]

    public var isCompatible: Bool { problems.isEmpty }
    /// The reason Device OS would report: the first it checks.
    public var primary: Incompatibility? { problems.first }
}
