import Foundation

/// A DfuSe memory-layout string such as
/// `@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg` (§2.8): a name, a
/// base address, and runs of equal sectors whose trailing letter encodes access
/// (`letter − 'a' + 1`: bit 0 readable, bit 1 erasable, bit 2 writable).
public struct DfuSeMemoryLayout: Hashable, Sendable {
    public struct Segment: Hashable, Sendable {
        public var start: UInt32
        public var count: Int
        public var sectorSize: Int
        public var readable: Bool
        public var erasable: Bool
        public var writable: Bool

        public var size: Int { count * sectorSize }
        public var end: UInt64 { UInt64(start) + UInt64(size) }
    }

    public var name: String
    public var base: UInt32
    public var segments: [Segment]

    public var size: Int { segments.reduce(0) { $0 + $1.size } }

    public init?(_ text: String) {
        guard text.hasPrefix("@") else { return nil }
        let parts = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].lowercased().hasPrefix("0x"), let base = UInt32(parts[1].dropFirst(2), radix: 16) else { return nil }
        var segments: [Segment] = []
        var cursor = UInt64(base)
        for item in parts[2].split(separator: ",") {
            let pieces = item.split(separator: "*")
            guard pieces.count == 2, let count = Int(pieces[0]), count > 0,
                  let access = pieces[1].last?.asciiValue, (UInt8(ascii: "a")...UInt8(ascii: "g")).contains(access)
            else { return nil }
            let sizeText = pieces[1].dropLast()
            let multiplier: Int
            switch sizeText.last {
            case "K": multiplier = 1024
            case "M": multiplier = 1024 * 1024
            case " ", "B": multiplier = 1
            default:
                guard sizeText.last?.isNumber == true else { return nil }
                multiplier = 1
            }
            guard let value = Int(sizeText.filter(\.isNumber)), value > 0 else { return nil }
            let bits = access - UInt8(ascii: "a") + 1
            let segment = Segment(start: UInt32(truncatingIfNeeded: cursor), count: count, sectorSize: value * multiplier,
                                  readable: bits & 1 != 0, erasable: bits & 2 != 0, writable: bits & 4 != 0)
            cursor += UInt64(segment.size)
            guard cursor <= UInt64(UInt32.max) + 1 else { return nil }
            segments.append(segment)
        }
        guard !segments.isEmpty else { return nil }
        self.name = parts[0].trimmingCharacters(in: .whitespaces)
        self.base = base
        self.segments = segments
    }

    public func segment(containing address: UInt32) -> Segment? {
        segments.first { UInt64(address) >= UInt64($0.start) && UInt64(address) < $0.end }
    }

    /// Start and size of the sector holding `address`.
    public func sector(containing address: UInt32) -> (start: UInt32, size: Int)? {
        guard let segment = segment(containing: address) else { return nil }
        let index = (Int(address) - Int(segment.start)) / segment.sectorSize
        return (segment.start + UInt32(index * segment.sectorSize), segment.sectorSize)
    }
}
