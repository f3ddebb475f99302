/// Time on a clock since the stopwatch started, as a plain duration whatever the clock's instants
/// are: timers kept as durations on an injected clock (a board's, a gateway's) read it.
public struct Stopwatch: Sendable {
    private let read: @Sendable () -> Duration

    public init(_ clock: any Clock<Duration>) {
        read = Self.start(clock)
    }

    private static func start<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }

    public var elapsed: Duration { read() }
}
