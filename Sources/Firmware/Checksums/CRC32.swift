import CZlib

/// The standard (zlib/IEEE) CRC-32 that Particle modules end with, stored big-endian (§3.5).
/// Computed by zlib, whose implementation is the reference one.
public enum CRC32 {
    public static func checksum(_ bytes: [UInt8], range: Range<Int>? = nil) -> UInt32 {
        let range = range ?? bytes.indices
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        return bytes.withUnsafeBufferPointer { buffer in
            var crc = crc32(0, nil, 0)
            var position = range.lowerBound
            // zlib takes a 32-bit length; feed it in bounded pieces.
            while position < range.upperBound {
                let length = min(range.upperBound - position, 1 << 30)
                crc = crc32(crc, buffer.baseAddress! + position, uInt(length))
                position += length
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}
