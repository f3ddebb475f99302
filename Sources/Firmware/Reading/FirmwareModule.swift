/// One Particle module as read from a file: every field of its prefix, prefix extensions,
/// compressed header and suffix, the checksums as stored and as computed, and what the
/// reader found wrong.
public struct FirmwareModule: Hashable, Sendable {
    /// Where the module starts in its file.
    public var offset: Int
    /// How many bytes of the file belong to it (for the last module: up to the end of the file).
    public var length: Int
    /// Where the prefix sits, relative to `offset`.
    public var prefixOffset: Int
    public var prefix: ModulePrefix
    public var prefixExtensions: [ModuleExtension]
    public var compressedHeader: CompressedModuleHeader?
    /// Nil when the module is too short to hold one.
    public var suffix: ModuleSuffix?
    public var storedCRC: UInt32?
    public var computedCRC: UInt32?
    public var computedSHA256: [UInt8]?
    public var findings: [Finding]

    public var platformID: PlatformID { prefix.platformID }
    public var function: ModuleFunction { prefix.function }
    public var index: UInt8 { prefix.index }
    public var version: UInt16 { prefix.version }
    public var flags: ModuleFlags { prefix.flags }
    public var startAddress: UInt32 { prefix.startAddress }
    public var endAddress: UInt32 { prefix.endAddress }
    /// Bytes the module occupies in flash, CRC included (`end − start + 4`).
    public var size: Int { prefix.moduleSize ?? 0 }

    /// Prefix dependencies, then DEPENDENCY extensions (an NCP requirement, say).
    public var dependencies: [ModuleDependency] {
        var all = prefix.dependencies
        for extensions in [prefixExtensions, suffix?.extensions ?? []] {
            for case .dependency(let dependency, _) in extensions where dependency.isUsed { all.append(dependency) }
        }
        return all
    }

    public var product: (id: UInt32, version: UInt16)? { suffix?.product }

    public var crcOK: Bool { storedCRC != nil && storedCRC == computedCRC }
    public var sha256OK: Bool { suffix != nil && suffix?.sha256 == computedSHA256 }
    /// True when nothing a device checks is wrong; warnings do not count.
    public var isValid: Bool { !findings.contains(where: \.isError) }
    public var errors: [Finding] { findings.filter(\.isError) }

    /// Bytes of prefix plus prefix extensions.
    public var prefixSize: Int {
        ModulePrefix.size + prefixExtensions.reduce(0) { $0 + $1.encodedLength }
    }

    /// The platform catalog entry, when otabench knows the platform.
    public var platform: Platform? { Platform(id: platformID) }
}
