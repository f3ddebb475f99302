import NIOConcurrencyHelpers

/// A clock whose sleeps return at once while its time moves on: emulated boards waiting
/// out a modelled delay (the 500 ms before a DFU leave resets) cost no wall time.
public final class InstantClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Hashable, Sendable {
        public var offset: Duration
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let current = NIOLockedValueBox(Instant(offset: .zero))

    public init() {}

    public var now: Instant { current.withLockedValue { $0 } }
    public var minimumResolution: Duration { .nanoseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        current.withLockedValue { if deadline > $0 { $0 = deadline } }
        await Task.yield()
    }
}
