import Firmware

/// A module found in one of the board's slots, with what the device checks of it.
public struct InstalledModuleRecord: Hashable, Sendable {
    public var slot: ModuleSlot
    /// Where the module starts in flash.
    public var start: UInt32
    public var prefix: ModulePrefix
    /// Bytes in flash, CRC included.
    public var size: Int
    public var storedCRC: UInt32
    public var computedCRC: UInt32
    /// The SHA-256 the module's suffix carries: the firmware's unique id ("u" in the `s` JSON).
    public var storedSHA256: [UInt8]
    public var crcOK: Bool { storedCRC == computedCRC }

    public var function: ModuleFunction { prefix.function }
    public var index: UInt8 { prefix.index }
    public var version: UInt16 { prefix.version }

    public var installed: InstalledModule {
        InstalledModule(function: prefix.function, index: prefix.index, version: prefix.version, dependencies: prefix.dependencies)
    }
}

/// Reading the module table out of flash, the way Device OS locates modules in their bounds.
enum ModuleTable {
    /// The module in `slot`, if one is there whose header fits it (its CRC may still be bad).
    static func module(in slot: ModuleSlot, platform: Platform, flash: FlashMemory) -> InstalledModuleRecord? {
        for start in candidateStarts(slot, flash: flash) {
            guard flash.contains(start, length: slot.prefixOffset + ModulePrefix.size) else { continue }
            let header = flash.read(start + UInt32(slot.prefixOffset), count: ModulePrefix.size)
            guard let prefix = ModulePrefix(header, at: 0), prefix.startAddress == start,
                  prefix.function == slot.function, prefix.index == slot.index,
                  let size = prefix.moduleSize, UInt64(start) + UInt64(size) <= slot.end,
                  flash.contains(start, length: size)
            else { continue }
            let bytes = flash.read(start, count: size)
            let stored = bytes.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: size - 4, as: UInt32.self)) }
            return InstalledModuleRecord(slot: slot, start: start, prefix: prefix, size: size, storedCRC: stored,
                                         computedCRC: CRC32.checksum(bytes, range: 0..<(size - 4)),
                                         storedSHA256: size >= 42 ? Array(bytes[(size - 38)..<(size - 6)]) : [])
        }
        return nil
    }

    /// Where a module in this slot may start. A user part placed at the end of its region
    /// is found from its suffix: the DYNAMIC_LOCATION extension gives its start (§3.5).
    static func candidateStarts(_ slot: ModuleSlot, flash: FlashMemory) -> [UInt32] {
        switch slot.placement {
        case .atStart: return [slot.start]
        case .anywhere: return [slot.start] + slot.legacyStarts
        case .atEnd:
            let end = UInt32(truncatingIfNeeded: slot.end)
            let tailLength = min(1024, slot.size)
            guard flash.contains(end - UInt32(tailLength), length: tailLength),
                  let suffix = ModuleSuffix.read(fromEndOf: flash.read(end - UInt32(tailLength), count: tailLength))
            else { return [] }
            for case .dynamicLocation(let start, _, _) in suffix.extensions { return [start] }
            return []
        }
    }

    /// Every module installed in internal flash.
    static func scan(platform: Platform, flash: FlashMemory) -> [InstalledModuleRecord] {
        platform.slots.filter { $0.location == .internal && $0.function != .mono }.compactMap {
            module(in: $0, platform: platform, flash: flash)
        }
    }
}
