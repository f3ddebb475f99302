/// The flags byte at prefix offset 9 (reference §3.3).
public struct ModuleFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Skip the 24-byte prefix when copying to the target; only allowed with the prefix at offset 0.
    public static let dropModuleInfo = Self(rawValue: 0x01)
    /// The body after the prefix is raw Deflate, behind a `CompressedModuleHeader`.
    public static let compressed = Self(rawValue: 0x02)
    /// Another module follows this one in the same file or OTA image.
    public static let combined = Self(rawValue: 0x04)
    public static let encrypted = Self(rawValue: 0x08)
    /// TLV extensions follow the 24-byte prefix.
    public static let prefixExtensions = Self(rawValue: 0x10)

    public static let known: Self = [.dropModuleInfo, .compressed, .combined, .encrypted, .prefixExtensions]

    public var unknownBits: UInt8 { rawValue & ~Self.known.rawValue }

    public var names: [String] {
        var names: [String] = []
        if contains(.dropModuleInfo) { names.append("drop-module-info") }
        if contains(.compressed) { names.append("compressed") }
        if contains(.combined) { names.append("combined") }
        if contains(.encrypted) { names.append("encrypted") }
        if contains(.prefixExtensions) { names.append("prefix-extensions") }
        if unknownBits != 0 { names.append(hex(unknownBits)) }
        return names
    }
}
