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
        /// Changes with every chunk, so a timer set for an older one sends nothing.
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    private let outbound: NIOAsyncChannelOutboundWriter<DeviceMessage>

    init(outbound: NIOAsyncChannelOutboundWriter<DeviceMessage>) {
        self.outbound = outbound
    }

    /// A chunk's acknowledgement: sent now if it completes a pair, else after the delay unless
    /// another chunk comes first.
    func add(id: UInt32, _ response: DeviceResponse) async throws {
        let (due, generation): ((id: UInt32, response: DeviceResponse)?, UInt64) = state.withLock { state in
            state.pending = (id, response)
            state.count += 1
            state.generation += 1
            guard state.count >= Self.chunks else { return (nil, state.generation) }
            defer {
                state.pending = nil
                state.count = 0
            }
            return (state.pending, state.generation)
        }
        if let due {
            try await outbound.write(.response(id: due.id, due.response))
            return
        }
        Task {
            try await Task.sleep(for: Self.delay)
            try await self.flush(onlyGeneration: generation)
        }
    }

    /// Sends the acknowledgement still held, if any (before any other answer, so the cloud
    /// reads them in order).
    func flush(onlyGeneration generation: UInt64? = nil) async throws {
        let due: (id: UInt32, response: DeviceResponse)? = state.withLock { state in
            guard generation == nil || generation == state.generation, let pending = state.pending else { return nil }
            state.pending = nil
            state.count = 0
            return pending
        }
        if let due { try await outbound.write(.response(id: due.id, due.response)) }
    }
}
