import Firmware

/// NOR flash as the emulator stores it: erased bytes read 0xFF, a program can only clear
/// bits, erases work on whole sectors of the platform's map. Storage is sparse (a page
/// never written costs nothing) and copy-on-write (copying a `FlashMemory` copies page
/// references, not bytes), so an idle board is small and a snapshot is cheap.
public struct FlashMemory: Sendable {
    /// Storage granularity; independent of the erase sectors, which may be larger.
    static let pageSize = 4096

    final class Page: @unchecked Sendable {
        // Only mutated while uniquely referenced (see `mutablePage`).
        var bytes: [UInt8]
        init(bytes: [UInt8]) { self.bytes = bytes }
    }

    public let region: FlashRegion
    /// Start offsets (from `region.base`) of every erase sector, ascending, plus the end.
    let sectorBoundaries: [Int]
    var pages: [Page?]

    public init(region: FlashRegion) {
        self.region = region
        var boundaries = [0]
        for run in region.sectors {
            for _ in 0..<run.count { boundaries.append(boundaries.last! + run.size) }
        }
        sectorBoundaries = boundaries
        pages = Array(repeating: nil, count: (region.size + Self.pageSize - 1) / Self.pageSize)
    }

    public var size: Int { region.size }

    /// Whether `address..<address+length` lies in this flash.
    public func contains(_ address: UInt32, length: Int) -> Bool {
        region.contains(address, length: length)
    }

    /// The erase sector holding `address`: its start address and size.
    public func sector(containing address: UInt32) -> (start: UInt32, size: Int)? {
        guard contains(address, length: 1) else { return nil }
        let offset = Int(address - region.base)
        // Upper bound search: the last boundary ≤ offset.
        var low = 0
        var high = sectorBoundaries.count - 1
        while low + 1 < high {
            let middle = (low + high) / 2
            if sectorBoundaries[middle] <= offset { low = middle } else { high = middle }
        }
        return (region.base + UInt32(sectorBoundaries[low]), sectorBoundaries[low + 1] - sectorBoundaries[low])
    }

    /// The sectors an address range touches, in order.
    public func sectors(covering address: UInt32, length: Int) -> [(start: UInt32, size: Int)] {
        var result: [(start: UInt32, size: Int)] = []
        var cursor = address
        let end = UInt64(address) + UInt64(max(length, 0))
        while UInt64(cursor) < end, let sector = sector(containing: cursor) {
            result.append(sector)
            cursor = sector.start + UInt32(sector.size)
        }
        return result
    }

    public func read(_ address: UInt32, count: Int) -> [UInt8] {
        precondition(contains(address, length: count), "read outside \(region.name)")
        var result = [UInt8](repeating: 0xFF, count: count)
        var offset = Int(address - region.base)
        var written = 0
        while written < count {
            let pageIndex = offset / Self.pageSize
            let inPage = offset % Self.pageSize
            let run = min(Self.pageSize - inPage, count - written)
            if let page = pages[pageIndex] {
                result.withUnsafeMutableBufferPointer { target in
                    page.bytes.withUnsafeBufferPointer { source in
                        (target.baseAddress! + written).update(from: source.baseAddress! + inPage, count: run)
                    }
                }
            }
            written += run
            offset += run
        }
        return result
    }

    /// Erases `length` bytes from `address` (normally one whole sector).
    mutating func erase(_ address: UInt32, length: Int) {
        precondition(contains(address, length: length))
        var offset = Int(address - region.base)
        var remaining = length
        while remaining > 0 {
            let pageIndex = offset / Self.pageSize
            let inPage = offset % Self.pageSize
            let run = min(Self.pageSize - inPage, remaining)
            if run == Self.pageSize {
                pages[pageIndex] = nil
            } else if pages[pageIndex] != nil {
                mutablePage(pageIndex).bytes.replaceSubrange(inPage..<(inPage + run), with: repeatElement(0xFF, count: run))
            }
            offset += run
            remaining -= run
        }
    }

    /// NOR programming: each byte becomes `old & new`. Returns how many bytes were not
    /// erased where the data needed a bit set, i.e. where the flash now differs from `bytes`.
    @discardableResult
    mutating func program(_ address: UInt32, _ bytes: ArraySlice<UInt8>) -> Int {
        precondition(contains(address, length: bytes.count))
        var offset = Int(address - region.base)
        var consumed = bytes.startIndex
        var mismatches = 0
        while consumed < bytes.endIndex {
            let pageIndex = offset / Self.pageSize
            let inPage = offset % Self.pageSize
            let run = min(Self.pageSize - inPage, bytes.endIndex - consumed)
            let page = mutablePage(pageIndex)
            page.bytes.withUnsafeMutableBufferPointer { target in
                bytes.withUnsafeBufferPointer { source in
                    for position in 0..<run {
                        let old = target[inPage + position]
                        let new = source[consumed - bytes.startIndex + position]
                        let result = old & new
                        if result != new { mismatches += 1 }
                        target[inPage + position] = result
                    }
                }
            }
            consumed += run
            offset += run
        }
        return mismatches
    }

    /// Flips one bit, as a disturbed or worn cell would.
    mutating func flipBit(at address: UInt32, bit: Int) {
        let offset = Int(address - region.base)
        let page = mutablePage(offset / Self.pageSize)
        page.bytes[offset % Self.pageSize] ^= UInt8(1 << (bit & 7))
    }

    /// Whether every byte of the range reads 0xFF.
    public func isErased(_ address: UInt32, count: Int) -> Bool {
        read(address, count: count).allSatisfy { $0 == 0xFF }
    }

    /// Pages holding data: what the board costs in memory.
    public var residentPages: Int { pages.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    private mutating func mutablePage(_ index: Int) -> Page {
        if pages[index] == nil {
            let page = Page(bytes: [UInt8](repeating: 0xFF, count: Self.pageSize))
            pages[index] = page
            return page
        }
        if !isKnownUniquelyReferenced(&pages[index]) {
            pages[index] = Page(bytes: pages[index]!.bytes)
        }
        return pages[index]!
    }
}
