/// A Device OS version as the board reports it ("5.8.0", "6.2.0-rc.1"), ordered by its
/// numbers: what decides which control requests its system answers.
public struct DeviceOSRelease: Comparable, Hashable, Sendable {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Nil for text that does not start with three numbers. A pre-release counts as its release:
    /// a 6.1.0-rc already carries the requests 6.1.0 does.
    public init?(_ text: String) {
        let numbers = text.split(separator: "-", maxSplits: 1).first.map { $0.split(separator: ".").map { Int($0) } } ?? []
        guard numbers.count == 3, let major = numbers[0], let minor = numbers[1], let patch = numbers[2] else { return nil }
        self.init(major, minor, patch)
    }

    public static func < (left: Self, right: Self) -> Bool {
        (left.major, left.minor, left.patch) < (right.major, right.minor, right.patch)
    }
}
