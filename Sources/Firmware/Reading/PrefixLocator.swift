/// Finds the 24-byte prefix in a module the way binary-version-reader does (§3.6, §3.7):
/// preferred offsets first, then every 4-byte-aligned offset in the first 8 KiB, each
/// candidate scored for plausibility; the first candidate that passes every check wins,
/// otherwise the best-scoring one.
///
/// Unlike binary-version-reader, which parses whatever scored best, a candidate must reach
/// `minimumScore` and name a known module function: otherwise the data holds no module
/// (random bytes with one lucky word pair are not a module we could check or place).
enum PrefixLocator {
    /// Where vector tables and image headers put the prefix: none, Gen 3 nRF52840, Gen 2
    /// STM32F2, RTL872x bootloader, Bluz, Core.
    static let preferredOffsets = [0, 0x200, 0x184, 0x20, 0xC0, 0x10C]
    /// Anything further in is not a prefix (binary-version-reader's bound).
    static let scanLimit = 8 * 1024
    static let passingScore = 7
    /// At most two plausibility checks failed (a padded or combined module fails one).
    static let minimumScore = 5

    /// Ids that make a candidate more plausible: the catalog's and the other known ones.
    static let knownPlatformIDs: Set<UInt16> =
        Set(Platform.catalog.map(\.id.rawValue)).union(PlatformID.otherKnownNames.keys)

    /// The prefix offset relative to `base`, or nil when no candidate is plausible at all.
    /// `available` is the number of bytes from `base` to the end of the data.
    static func locate(in bytes: [UInt8], base: Int, available: Int) -> Int? {
        var bestOffset: Int?
        var bestScore = minimumScore - 1
        func consider(_ offset: Int) -> Bool {
            let score = score(bytes, at: base + offset, available: available - offset, moduleLength: available)
            if score >= passingScore { bestOffset = offset; return true }
            if score > bestScore { bestScore = score; bestOffset = offset }
            return false
        }
        for offset in preferredOffsets where consider(offset) { return offset }
        let last = min(scanLimit, available - ModuleSuffix.baseSize - ModulePrefix.size - 4)
        if last >= 4 {
            for offset in stride(from: 4, through: last, by: 4) where !preferredOffsets.contains(offset) {
                if consider(offset) { return offset }
            }
        }
        return bestOffset
    }

    /// A prefix at a preferred offset that passes every check but one, the module's length, and
    /// says the module is longer than the data: a file cut short.
    static func truncatedModule(in bytes: [UInt8]) -> (offset: Int, expected: Int)? {
        for offset in preferredOffsets where offset + ModulePrefix.size <= bytes.count {
            guard let start = bytes.u32le(at: offset), let end = bytes.u32le(at: offset + 4), end > start else { continue }
            let expected = Int(end - start) + 4
            guard expected > bytes.count, expected <= ModuleFile.maximumLength,
                  score(bytes, at: offset, available: bytes.count - offset, moduleLength: expected) >= passingScore,
                  knownPlatformIDs.contains(bytes.u16le(at: offset + 12)!)
            else { continue }
            return (offset, expected)
        }
        return nil
    }

    /// A prefix that would describe the whole file, with a CRC that holds, but names a module
    /// function Device OS does not know: something built like a module that no board takes.
    /// binary-version-reader parses such a file; we refuse it and say what was there.
    static func unknownFunction(in bytes: [UInt8]) -> (offset: Int, platformID: UInt16, function: UInt8)? {
        guard bytes.count >= ModulePrefix.size + ModuleSuffix.baseSize + 4,
              let stored = bytes.u32be(at: bytes.count - 4),
              CRC32.checksum(bytes, range: 0..<(bytes.count - 4)) == stored
        else { return nil }
        let last = min(scanLimit, bytes.count - ModuleSuffix.baseSize - ModulePrefix.size - 4)
        let candidates = preferredOffsets + stride(from: 4, through: max(last, 0), by: 4).filter { !preferredOffsets.contains($0) }
        for offset in candidates where offset + ModulePrefix.size <= bytes.count {
            guard let start = bytes.u32le(at: offset), let end = bytes.u32le(at: offset + 4), end > start,
                  Int(end - start) + 4 == bytes.count
            else { continue }
            let function = bytes[offset + 14]
            guard function == ModuleFunction.none.rawValue || !ModuleFunction(rawValue: function).isKnown else { continue }
            return (offset, bytes.u16le(at: offset + 12)!, function)
        }
        return nil
    }

    /// 0 for an impossible prefix; otherwise 1 plus one point per plausibility check passed.
    static func score(_ bytes: [UInt8], at position: Int, available: Int, moduleLength: Int) -> Int {
        guard available >= ModulePrefix.size,
              let start = bytes.u32le(at: position), let end = bytes.u32le(at: position + 4), end > start
        else { return 0 }
        let expected = Int(end - start) + 4
        guard moduleLength >= expected else { return 0 }
        let function = bytes[position + 14]
        let dependencyFunction = bytes[position + 16]
        let dependency2Function = bytes[position + 20]
        guard function != ModuleFunction.none.rawValue, ModuleFunction(rawValue: function).isKnown else { return 0 }
        // An unused dependency slot must be all zero.
        if dependencyFunction == 0, bytes[position + 17] != 0 || bytes.u16le(at: position + 18) != 0 { return 0 }
        if dependency2Function == 0, bytes[position + 21] != 0 || bytes.u16le(at: position + 22) != 0 { return 0 }

        var score = 1
        if knownPlatformIDs.contains(bytes.u16le(at: position + 12)!) { score += 1 }
        score += 1  // the function is known (checked above)
        if ModuleFunction(rawValue: dependencyFunction).isKnown { score += 1 }
        if ModuleFunction(rawValue: dependency2Function).isKnown { score += 1 }
        if moduleLength == expected { score += 1 }
        if ModuleFlags(rawValue: bytes[position + 9]).unknownBits == 0 { score += 1 }
        return score
    }
}
