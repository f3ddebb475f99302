/// `module_info_t`: the 24-byte little-endian header every Particle module carries (§3.1).
public struct ModulePrefix: Hashable, Sendable {
    public static let size = 24

    /// Flash address of the module's first byte (the vector table, when there is one).
    public var startAddress: UInt32
    /// Exclusive end; the 4-byte CRC starts here.
    public var endAddress: UInt32
    /// "Platform specific": the MCU target on Gen 3 (an ESP32 NCP module carries 0x21).
    public var reserved: UInt8
    public var flags: ModuleFlags
    public var version: UInt16
    public var platformID: PlatformID
    public var function: ModuleFunction
    public var index: UInt8
    public var dependency: ModuleDependency
    public var dependency2: ModuleDependency

    public init(
        startAddress: UInt32, endAddress: UInt32, reserved: UInt8 = 0, flags: ModuleFlags = [],
        version: UInt16, platformID: PlatformID, function: ModuleFunction, index: UInt8,
        dependency: ModuleDependency = .unused, dependency2: ModuleDependency = .unused
    ) {
        self.startAddress = startAddress
        self.endAddress = endAddress
        self.reserved = reserved
        self.flags = flags
        self.version = version
        self.platformID = platformID
        self.function = function
        self.index = index
        self.dependency = dependency
        self.dependency2 = dependency2
    }

    /// Decodes the 24 bytes at `offset`; nil when fewer remain.
    public init?(_ bytes: [UInt8], at offset: Int) {
        guard offset >= 0, offset <= bytes.count - Self.size,
              let start = bytes.u32le(at: offset), let end = bytes.u32le(at: offset + 4),
              let version = bytes.u16le(at: offset + 10), let platform = bytes.u16le(at: offset + 12),
              let dependencyVersion = bytes.u16le(at: offset + 18), let dependency2Version = bytes.u16le(at: offset + 22)
        else { return nil }
        self.startAddress = start
        self.endAddress = end
        self.reserved = bytes[offset + 8]
        self.flags = ModuleFlags(rawValue: bytes[offset + 9])
        self.version = version
        self.platformID = PlatformID(rawValue: platform)
        self.function = ModuleFunction(rawValue: bytes[offset + 14])
        self.index = bytes[offset + 15]
        self.dependency = ModuleDependency(
            function: ModuleFunction(rawValue: bytes[offset + 16]), index: bytes[offset + 17], version: dependencyVersion)
        self.dependency2 = ModuleDependency(
            function: ModuleFunction(rawValue: bytes[offset + 20]), index: bytes[offset + 21], version: dependency2Version)
    }

    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.size)
        bytes.appendLE(startAddress)
        bytes.appendLE(endAddress)
        bytes.append(reserved)
        bytes.append(flags.rawValue)
        bytes.appendLE(version)
        bytes.appendLE(platformID.rawValue)
        bytes.append(function.rawValue)
        bytes.append(index)
        for dependency in [dependency, dependency2] {
            bytes.append(dependency.function.rawValue)
            bytes.append(dependency.index)
            bytes.appendLE(dependency.version)
        }
        return bytes
    }

    /// The dependency slots that are in use.
    public var dependencies: [ModuleDependency] { [dependency, dependency2].filter(\.isUsed) }

    /// Bytes the module occupies in flash and in its file: body plus the trailing CRC.
    /// Nil when the end is not after the start.
    public var moduleSize: Int? {
        endAddress > startAddress ? Int(endAddress - startAddress) + 4 : nil
    }
}
