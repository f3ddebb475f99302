import CZlib

/// Raw Deflate (no zlib or gzip wrapper), the only compression method modules use (§3.3).
public enum RawDeflate {
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func compress(_ bytes: [UInt8], windowBits: Int = 15) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -Int32(windowBits), 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { throw Failure(description: "zlib could not start deflate") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 16)
        let produced: Int = try bytes.withUnsafeBufferPointer { (input) throws(Failure) -> Int in
            try output.withUnsafeMutableBufferPointer { (out) throws(Failure) -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                guard deflate(&stream, Z_FINISH) == Z_STREAM_END else {
                    throw Failure(description: "deflate did not finish")
                }
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output[..<produced])
    }

    /// Inflates `bytes`, refusing to produce more than `expectedSize` bytes so that a hostile
    /// header cannot make us allocate without bound.
    public static func decompress(_ bytes: ArraySlice<UInt8>, expectedSize: Int, windowBits: Int = 15) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -Int32(windowBits), ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { throw Failure(description: "zlib could not start inflate (window bits \(windowBits))") }
        defer { inflateEnd(&stream) }
        // One spare byte shows whether the stream holds more than it claims.
        var output = [UInt8](repeating: 0, count: expectedSize + 1)
        let input = Array(bytes)
        let (status, produced) = input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = inflate(&stream, Z_FINISH)
                return (status, out.count - Int(stream.avail_out))
            }
        }
        guard status == Z_STREAM_END else {
            throw Failure(description: "compressed data is corrupt or truncated (zlib status \(status))")
        }
        guard produced == expectedSize else {
            throw Failure(description: "inflated to \(produced) bytes, header says \(expectedSize)")
        }
        return Array(output[..<produced])
    }
}
