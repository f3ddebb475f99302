/// A Device OS release number ("5.8.0", "6.2.0-rc.1"): what a board reports for `v` and
/// GET_SYSTEM_VERSION, ordered by major, minor and patch. What listening mode offers depends
/// on it, not on the platform's generation: 5.x takes YMODEM on Gen 3 boards too.
public struct DeviceOSVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses "M.m.p", ignoring a pre-release or build suffix ("-rc.1", "+lts"); nil for
    /// anything else.
    public init?(_ text: String) {
        let core = text.split(whereSeparator: { $0 == "-" || $0 == "+" || $0 == " " }).first ?? ""
        let parts = core.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let major = parts[0], let minor = parts[1], let patch = parts[2] else { return nil }
        self.init(major, minor, patch)
    }

    /// A release as a person names one: exactly "M.m.p", no suffix, no leading zeros (what
    /// an inventory's `device-os` and `--device-os` take).
    public init?(release text: String) {
        guard let version = DeviceOSVersion(text), version.description == text else { return nil }
        self = version
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    /// 6.0.0 removed listening mode's YMODEM receiver (commit c8d8e89f3: `f` answers with CAN
    /// and "Serial/YModem flashing is no longer supported") and the 28800-baud entry into
    /// listening mode (v6.0.0 build/module-defaults.mk). Every earlier release has both, on
    /// every platform.
    public static let ymodemRemoved = DeviceOSVersion(6, 0, 0)

    /// Whether listening mode's `f` (or an SOH/STX byte) starts Device OS's YMODEM receiver.
    public var takesYModem: Bool { self < Self.ymodemRemoved }

    /// Whether a host setting the line to 28800 baud puts the board into listening mode.
    public var listensAt28800Baud: Bool { self < Self.ymodemRemoved }

    /// Cellular platforms print "Cell Radio Version" for `i` from 2.1.0 (`cellfw` in
    /// hal/src/{electron,boron}/ota_flash_hal.cpp; absent in 2.0.2 and 1.5.2).
    public var printsCellRadioVersion: Bool { self >= DeviceOSVersion(2, 1, 0) }

    /// The system part's module version for this release, on the scale the fixtures show
    /// (4.1.0 is 4100, 5.3.1 5301, 5.8.0 5800): major, minor and patch as digits of one number.
    /// Particle's own numbering strays from it here and there (6.3.4's parts are 6305), so an
    /// emulated board's number is this one's, not necessarily the real part's. Nil past the
    /// 16-bit field or for a minor or patch above 9 and 99, which the scale cannot hold.
    public var systemModuleVersion: UInt16? {
        guard minor <= 9, patch <= 99 else { return nil }
        return UInt16(exactly: major * 1000 + minor * 100 + patch)
    }

    /// Why an emulated `platform` board cannot run this release, or nil when it can.
    public func problem(on platform: Platform) -> String? {
        if platform.generation == .gen2, major >= 3 {
            return "\(platform.buildName) is a Gen 2 board: Device OS 2.x was its last (3.0.0 dropped Gen 2)"
        }
        if systemModuleVersion == nil { return "\(self) has no module version the emulator can number its system parts with" }
        return nil
    }
}
