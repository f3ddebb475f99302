/// The end of a module, read backwards from its last byte (§3.5):
/// `[suffix extensions][product id u16, product version u16]?[reserved u16][sha256][suffix size u16][crc32 BE]`.
public struct ModuleSuffix: Hashable, Sendable {
    /// reserved u16 + SHA-256 + size u16: `MIN_MODULE_SUFFIX_SIZE`.
    public static let baseSize = 36
    /// Base plus the classic product id and version.
    public static let classicSize = 40

    /// Counts from the first suffix byte up to and including the size field.
    public var size: UInt16
    public var sha256: [UInt8]
    public var reserved: UInt16
    /// The classic 16-bit product fields, present when `size` ≥ 40 (0xFFFF: not a product).
    public var classicProductID: UInt16?
    public var classicProductVersion: UInt16?
    /// Suffix extensions (RTL872x: dynamic location and product data; assets: hash, name).
    public var extensions: [ModuleExtension]

    public init(size: UInt16, sha256: [UInt8], reserved: UInt16 = 0, classicProductID: UInt16? = nil,
                classicProductVersion: UInt16? = nil, extensions: [ModuleExtension] = []) {
        self.size = size
        self.sha256 = sha256
        self.reserved = reserved
        self.classicProductID = classicProductID
        self.classicProductVersion = classicProductVersion
        self.extensions = extensions
    }

    /// The suffix at the end of `bytes` (which end with a module's CRC), when it is sane:
    /// what a device reads backwards from a slot's end to find a module placed there.
    public static func read(fromEndOf bytes: [UInt8]) -> ModuleSuffix? {
        guard bytes.count >= 4 + baseSize else { return nil }
        let (suffix, findings) = ModuleFile.readSuffix(bytes, moduleStart: 0, end: bytes.count)
        return findings.contains(where: \.isError) ? nil : suffix
    }

    /// Product id and version: from a PRODUCT_DATA extension when there is one, otherwise
    /// from the classic fields.
    public var product: (id: UInt32, version: UInt16)? {
        for case .productData(let id, let version, _) in extensions { return (UInt32(id), version) }
        if let id = classicProductID, let version = classicProductVersion { return (UInt32(id), version) }
        return nil
    }
}
