import NIOConcurrencyHelpers

/// A clock that moves only when told to: a timer is proven by advancing it, never by sleeping
/// and hoping the machine is quick enough. Sleepers wake when `advance` passes their deadline;
/// a cancelled sleeper throws `CancellationError` at once.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Hashable, Sendable {
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let current = NIOLockedValueBox(Instant(offset: .zero))
    private let sleepers = StateWaiters<Instant>()

    public init() {}

    public var now: Instant { current.withLockedValue { $0 } }
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// How many tasks sleep on the clock now: a test waits for the code under test to reach its timer.
    public var sleeperCount: Int { sleepers.count }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await sleepers.wait(until: { $0 >= deadline }, now: { now })
    }

    /// Moves time on by `duration`, waking every sleeper whose deadline it reaches.
    public func advance(by duration: Duration) {
        sleepers.wake(current.withLockedValue { $0 = $0.advanced(by: duration); return $0 })
    }

    /// Waits (yielding, not sleeping) until `count` tasks sleep on the clock, or until the
    /// waiting task is cancelled (a test's time limit): code that never reaches its timer then
    /// fails the test's next expectation instead of spinning on forever.
    public func waitForSleepers(_ count: Int = 1) async {
        while sleeperCount < count, !Task.isCancelled { await Task.yield() }
    }
}
