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
            guard flash.contains(end - 64, length: 64) else { return [] }
            let tail = flash.read(end - 64, count: 64)
            guard let suffixSize = tail.withUnsafeBytes({ Optional(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: 58, as: UInt16.self))) }),
                  Int(suffixSize) <= 1024, suffixSize >= 36
            else { return [] }
            let suffixStart = end - 4 - UInt32(suffixSize)
            let suffix = flash.read(suffixStart, count: Int(suffixSize) - 36)
            var position = 0
            while position + 4 <= suffix.count {
                let type = UInt16(suffix[position]) | UInt16(suffix[position + 1]) << 8
                let length = Int(UInt16(suffix[position + 2]) | UInt16(suffix[position + 3]) << 8)
                guard length >= 4, position + length <= suffix.count else { break }
                if type == ModuleExtension.Kind.dynamicLocation.rawValue, length >= 8 {
                    let start = UInt32(suffix[position + 4]) | UInt32(suffix[position + 5]) << 8
                        | UInt32(suffix[position + 6]) << 16 | UInt32(suffix[position + 7]) << 24
                    return [start]
                }
                position += length
            }
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
