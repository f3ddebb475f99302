import NIOCore
import Synchronization

/// The device's side of v3 acknowledgements (§8.2): one after every second chunk, or 200 ms
/// after a chunk that has no partner, each cumulative (it answers the newest chunk's request
/// and covers the ones before it). Other answers wait for nothing: `flush` first.
final class AcknowledgementBatch: Sendable {
    static let chunks = 2
    static let delay: Duration = .milliseconds(200)

    private struct State {
        var pending: (id: UInt32, response: DeviceResponse)?
        var count = 0
        /// One timer at a time: a transfer's chunks come in pairs far faster than the delay,
        /// and a timer per lone chunk would be thousands of sleeping tasks in a fleet.
        var timerArmed = false
    }

    private let state = Mutex(State())
    private let outbound: NIOAsyncChannelOutboundWriter<DeviceMessage>

    init(outbound: NIOAsyncChannelOutboundWriter<DeviceMessage>) {
        self.outbound = outbound
    }

    /// A chunk's acknowledgement: sent now if it completes a pair, else after the delay unless
    /// another chunk comes first.
    func add(id: UInt32, _ response: DeviceResponse) async throws {
        let (due, arm): ((id: UInt32, response: DeviceResponse)?, Bool) = state.withLock { state in
            state.pending = (id, response)
            state.count += 1
            guard state.count >= Self.chunks else {
                defer { state.timerArmed = true }
                return (nil, !state.timerArmed)
            }
            defer {
                state.pending = nil
                state.count = 0
            }
            return (state.pending, false)
        }
        if let due {
            try await outbound.write(.response(id: due.id, due.response))
            return
        }
        guard arm else { return }
        Task {
            try await Task.sleep(for: Self.delay)
            self.state.withLock { $0.timerArmed = false }
            try await self.flush()
        }
    }

    /// Sends the acknowledgement still held, if any (before any other answer, so the cloud
    /// reads them in order).
    func flush() async throws {
        let due: (id: UInt32, response: DeviceResponse)? = state.withLock { state in
            guard let pending = state.pending else { return nil }
            state.pending = nil
            state.count = 0
            return pending
        }
        if let due { try await outbound.write(.response(id: due.id, due.response)) }
    }
}
