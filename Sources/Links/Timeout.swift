/// Raised when a step, a case or a wait runs past its time.
public struct TimeoutError: Error, Hashable, Sendable, CustomStringConvertible {
    public var what: String
    public var limit: Duration
    public var description: String { "\(what) did not finish within \(limit)" }

    public init(what: String, limit: Duration) {
        self.what = what
        self.limit = limit
    }
}

/// Runs `body`, failing with a `TimeoutError` if it takes longer than `limit` on `clock`
/// (wall time for a run, a manual clock for a test of the limit itself).
public func withTimeout<T: Sendable>(_ limit: Duration, what: String, clock: any Clock<Duration> = ContinuousClock(),
                                     _ body: @Sendable () async throws -> T) async throws -> T {
    guard let value = try await finished(within: limit, clock: clock, body) else { throw TimeoutError(what: what, limit: limit) }
    return value
}

/// Runs `body` for at most `limit` on `clock`: its result when it finished, nil when the limit
/// came first. For waits whose limit is an answer (a read that found nothing), not a failure.
public func finished<T: Sendable>(within limit: Duration, clock: any Clock<Duration>,
                                  _ body: @Sendable () async throws -> T) async throws -> T? {
    try await withoutActuallyEscaping(body) { body in
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await clock.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
