/// `compressed_module_header`: follows the prefix (and its extensions) of a module whose
/// COMPRESSED flag is set; the raw Deflate stream follows it (§3.3).
public struct CompressedModuleHeader: Hashable, Sendable {
    public static let size = 8
    public static let rawDeflate: UInt8 = 0

    /// Size of this header; Device OS allows a larger one, whose tail it skips.
    public var headerSize: UInt16
    public var method: UInt8
    /// Base-two log of the Deflate window, 8…15; 0 means 15.
    public var windowBits: UInt8
    public var originalSize: UInt32

    public init(headerSize: UInt16 = UInt16(Self.size), method: UInt8 = Self.rawDeflate, windowBits: UInt8 = 15, originalSize: UInt32) {
        self.headerSize = headerSize
        self.method = method
        self.windowBits = windowBits
        self.originalSize = originalSize
    }

    public init?(_ bytes: [UInt8], at offset: Int) {
        guard let size = bytes.u16le(at: offset), let method = bytes.u8(at: offset + 2),
              let window = bytes.u8(at: offset + 3), let original = bytes.u32le(at: offset + 4)
        else { return nil }
        self.init(headerSize: size, method: method, windowBits: window, originalSize: original)
    }

    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLE(headerSize)
        bytes.append(method)
        bytes.append(windowBits)
        bytes.appendLE(originalSize)
        return bytes
    }

    public var effectiveWindowBits: Int { windowBits == 0 ? 15 : Int(windowBits) }
}
