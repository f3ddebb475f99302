/// The reply to INIT, CHECK and RESET (§6.1): little-endian flags u32 (bit 0 status, always
/// set; bit 1 id; bit 2 size; bit 3 result), status u16, then id u16, size u32 and result
/// i32 when their flags say so, in that order.
public struct ServiceReply: Hashable, Sendable {
    public var status: ServiceStatus
    public var id: UInt16?
    public var size: UInt32?
    public var result: Int32?

    public init(status: ServiceStatus, id: UInt16? = nil, size: UInt32? = nil, result: Int32? = nil) {
        self.status = status
        self.id = id
        self.size = size
        self.result = result
    }

    public var encoded: [UInt8] {
        var flags: UInt32 = 1
        if id != nil { flags |= 2 }
        if size != nil { flags |= 4 }
        if result != nil { flags |= 8 }
        var bytes = littleEndian(flags) + littleEndian(status.rawValue)
        if let id { bytes += littleEndian(id) }
        if let size { bytes += littleEndian(size) }
        if let result { bytes += littleEndian(UInt32(bitPattern: result)) }
        return bytes
    }

    public enum DecodingError: Error, Hashable, Sendable {
        case tooShort(Int)
        case noStatus
        case unknownStatus(UInt16)
    }

    public init(decoding bytes: [UInt8]) throws(DecodingError) {
        func read<T: FixedWidthInteger>(_ type: T.Type, at offset: inout Int) throws(DecodingError) -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= bytes.count else { throw .tooShort(bytes.count) }
            var value: T = 0
            for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
            offset += size
            return value
        }
        var offset = 0
        let flags = try read(UInt32.self, at: &offset)
        guard flags & 1 != 0 else { throw .noStatus }
        let raw = try read(UInt16.self, at: &offset)
        guard let status = ServiceStatus(rawValue: raw) else { throw .unknownStatus(raw) }
        self.status = status
        id = flags & 2 != 0 ? try read(UInt16.self, at: &offset) : nil
        size = flags & 4 != 0 ? try read(UInt32.self, at: &offset) : nil
        result = flags & 8 != 0 ? Int32(bitPattern: try read(UInt32.self, at: &offset)) : nil
    }
}

private func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}
