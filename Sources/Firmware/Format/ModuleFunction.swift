/// What a module is for (`module_function` in the prefix; reference §3.2).
///
/// A struct rather than an enum so that a byte we do not know still round-trips:
/// a reader must be able to say "function 0x42" instead of failing.
public struct ModuleFunction: RawRepresentable, Hashable, Sendable, Comparable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let none = Self(rawValue: 0)
    public static let resource = Self(rawValue: 1)
    public static let bootloader = Self(rawValue: 2)
    public static let mono = Self(rawValue: 3)
    public static let system = Self(rawValue: 4)
    public static let user = Self(rawValue: 5)
    public static let settings = Self(rawValue: 6)
    public static let ncp = Self(rawValue: 7)
    public static let radio = Self(rawValue: 8)
    public static let asset = Self(rawValue: 9)

    public static let allKnown: [ModuleFunction] = [
        .none, .resource, .bootloader, .mono, .system, .user, .settings, .ncp, .radio, .asset,
    ]

    public var isKnown: Bool { rawValue <= 9 }

    /// The name otabench prints and accepts (`inspect --json` uses these).
    public var name: String {
        switch self {
        case .none: "none"
        case .resource: "resource"
        case .bootloader: "bootloader"
        case .mono: "mono"
        case .system: "system"
        case .user: "user"
        case .settings: "settings"
        case .ncp: "ncp"
        case .radio: "radio"
        case .asset: "asset"
        default: "unknown(\(rawValue))"
        }
    }

    /// The one-character code of the `s` module JSON (§3.2, §9): Device OS prints `_` for assets.
    public var character: Character {
        switch self {
        case .none: "n"
        case .resource: "r"
        case .bootloader: "b"
        case .mono: "m"
        case .system: "s"
        case .user: "u"
        case .ncp: "c"
        case .radio: "a"
        default: "_"
        }
    }

    public init?(name: String) {
        guard let match = Self.allKnown.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension ModuleFunction: CustomStringConvertible {
    public var description: String { name }
}
