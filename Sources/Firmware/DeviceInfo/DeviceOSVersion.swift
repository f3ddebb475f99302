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
}
