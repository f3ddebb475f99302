/// A Particle platform id as it appears in a module prefix and in USB product ids (§1.2).
///
/// Any 16-bit value can appear in a file; `Platform` is the catalog entry for the ones
/// otabench supports.
public struct PlatformID: RawRepresentable, Hashable, Sendable, Comparable, ExpressibleByIntegerLiteral {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt16) { self.rawValue = value }

    /// Ids that appear in Particle's sources and tools but that the bench does not drive
    /// (§1.2 and the platform list of binary-version-reader): known, so a prefix carrying
    /// one of them scores as plausible, and named in `inspect`.
    static let otherKnownNames: [UInt16: String] = [
        0: "core", 2: "core-hd", 3: "gcc", 4: "photon-dev", 5: "teacup-pigtail-dev", 7: "teacup-pigtail",
        9: "ethernet-proto", 103: "bluz", 60000: "newhal",
    ]

    /// The build name (`photon`, `p2`, …) of a catalog platform, or the name Particle's tools
    /// use for other known ids; nil for an id nobody knows.
    public var name: String? {
        Platform.catalog.first(where: { $0.id == self })?.buildName ?? Self.otherKnownNames[rawValue]
    }

    public var isKnown: Bool { name != nil }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension PlatformID: CustomStringConvertible {
    public var description: String { name.map { "\($0) (\(rawValue))" } ?? "unknown platform \(rawValue)" }
}
