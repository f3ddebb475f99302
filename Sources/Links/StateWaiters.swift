import NIOConcurrencyHelpers

/// Tasks waiting for some state to meet a condition, woken by the change that makes it hold:
/// what drives a board waits on the board (or a gateway on its sessions, a capture on its lines),
/// never on a clock, so a busy machine makes a wait longer, never wrong.
///
/// The owner keeps the state and calls `wake(_:)` after each change. `wait(until:now:)` reads
/// the state through `now` under the same lock as `wake`, so a change made before the wait is
/// seen by `now` and one made after it by `wake`: none falls between the two.
public final class StateWaiters<State>: Sendable {
    private struct Waiter: @unchecked Sendable {
        // Unchecked: the condition is only ever called under `waiting`'s lock.
        var condition: (State) -> Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct Waiting: @unchecked Sendable {
        var waiters: [Int: Waiter] = [:]
        var next = 0
        /// Waits that have an id but are not registered yet, and whether they were cancelled
        /// meanwhile. Only these are remembered: a cancel that comes after its wait ended
        /// leaves nothing behind.
        var starting: [Int: Bool] = [:]
    }

    private let waiting = NIOLockedValueBox(Waiting())

    public init() {}

    /// How many wait now: a test waits for the code under test to reach its wait.
    public var count: Int { waiting.withLockedValue { $0.waiters.count } }

    /// Every wait the type still keeps a record of: a test checks that ended waits leave none.
    var records: Int { waiting.withLockedValue { $0.waiters.count + $0.starting.count } }

    /// Returns once `condition` holds: at once if it holds for `now()`, else at the `wake` that
    /// makes it hold. Throws `CancellationError` when the waiting task is cancelled (a caller's
    /// time limit). `now` runs on the caller's isolation, so an actor may read its own state.
    public func wait(isolation: isolated (any Actor)? = #isolation, until condition: @escaping (State) -> Bool,
                     now: () -> State) async throws {
        let id = waiting.withLockedValue { state -> Int in
            defer { state.next += 1 }
            state.starting[state.next] = false
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation(isolation: isolation) { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = waiting.withLockedValue { state in
                    if state.starting.removeValue(forKey: id) == true { return .failure(CancellationError()) }
                    if condition(now()) { return .success(()) }
                    state.waiters[id] = Waiter(condition: condition, continuation: continuation)
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let waiter = waiting.withLockedValue { state -> Waiter? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.starting[id] != nil { state.starting[id] = true }
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The state has changed to `state`: wakes, in the order they began waiting, every waiter
    /// whose condition now holds.
    public func wake(_ state: State) {
        let woken = waiting.withLockedValue { waiting -> [Waiter] in
            guard !waiting.waiters.isEmpty else { return [] }
            let due = waiting.waiters.filter { $0.value.condition(state) }.sorted { $0.key < $1.key }
            for (id, _) in due { waiting.waiters.removeValue(forKey: id) }
            return due.map(\.value)
        }
        for waiter in woken { waiter.continuation.resume() }
    }
}
