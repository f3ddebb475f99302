import NIOConcurrencyHelpers

/// The device's side of v3 acknowledgements (§8.2): one after every second chunk, or 200 ms
/// after a chunk that has no partner, each cumulative (it answers the newest chunk's request
/// and covers the ones before it). Other answers wait for nothing: they go with `send`, after
/// what is held.
///
/// Whether an acknowledgement goes now is decided and the message queued under one lock, onto
/// the session's one ordered writer (`output`): the wire order is the order of decision, so the
/// timer's flush of a lone chunk can never land after the acknowledgement of a later pair.
final class AcknowledgementBatch: Sendable {
    static let chunks = 2
    static let delay: Duration = .milliseconds(200)

    private struct State {
        var pending: (id: UInt32, response: DeviceResponse)?
        var count = 0
        /// One timer at a time: a transfer's chunks come in pairs far faster than the delay,
        /// and a timer per lone chunk would be thousands of sleeping tasks in a fleet.
        var timerArmed = false
        /// The session is over: nothing more is queued.
        var ended = false

        /// The acknowledgement held, taken to be sent.
        mutating func take() -> DeviceMessage? {
            defer {
                pending = nil
                count = 0
            }
            return pending.map { DeviceMessage.response(id: $0.id, $0.response) }
        }
    }

    private let state = NIOLockedValueBox(State())
    private let output: AsyncStream<DeviceMessage>.Continuation
    private let clock: any Clock<Duration>
    /// One element per arming of the timer, for `runTimer`.
    private let armings: AsyncStream<Void>
    private let arming: AsyncStream<Void>.Continuation

    init(output: AsyncStream<DeviceMessage>.Continuation, clock: any Clock<Duration> = ContinuousClock()) {
        self.output = output
        self.clock = clock
        (armings, arming) = AsyncStream.makeStream(of: Void.self)
    }

    /// A chunk's acknowledgement: queued now if it completes a pair, else after the delay unless
    /// another chunk comes first.
    func add(id: UInt32, _ response: DeviceResponse) {
        state.withLockedValue { state in
            guard !state.ended else { return }
            state.pending = (id, response)
            state.count += 1
            if state.count >= Self.chunks {
                if let due = state.take() { output.yield(due) }
                return
            }
            if !state.timerArmed {
                state.timerArmed = true
                arming.yield()
            }
        }
    }

    /// Queues the acknowledgement still held, if any.
    func flush() {
        state.withLockedValue { state in
            guard !state.ended, let due = state.take() else { return }
            output.yield(due)
        }
    }

    /// Queues `message` (another answer, an event) after the acknowledgement still held, so the
    /// cloud reads them in order.
    func send(afterFlushing message: DeviceMessage) {
        state.withLockedValue { state in
            guard !state.ended else { return }
            if let due = state.take() { output.yield(due) }
            output.yield(message)
        }
    }

    /// The session is over: what is held is dropped (the device lost power with it, or the
    /// connection is gone), and the timer stops.
    func end() {
        state.withLockedValue { state in
            state.ended = true
            state.pending = nil
            state.count = 0
        }
        arming.finish()
    }

    /// The flush timer, run for the session's lifetime as one of its tasks (so it ends with the
    /// session): each arming is one delay, then what is held goes.
    func runTimer() async {
        for await _ in armings {
            do { try await clock.sleep(for: Self.delay) } catch { return }
            state.withLockedValue { state in
                state.timerArmed = false
                guard !state.ended, let due = state.take() else { return }
                output.yield(due)
            }
        }
    }
}
