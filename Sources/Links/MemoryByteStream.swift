import NIOConcurrencyHelpers

/// Two `ByteStream`s joined back to back in memory: what one writes the other reads. For
/// tests, and for joining a protocol to a process's pipes.
public final class MemoryByteStream: ByteStream {
    private final class Buffer: Sendable {
        struct Held {
            var data: [UInt8] = []
            var closed = false
        }
        let held = NIOLockedValueBox(Held())
        /// Waits for the buffer to be readable: data in it, or the other end gone.
        let arrivals = StateWaiters<Bool>()

        var readable: Bool { held.withLockedValue { !$0.data.isEmpty || $0.closed } }

        func change(_ body: (inout Held) -> Void) {
            arrivals.wake(held.withLockedValue { body(&$0); return !$0.data.isEmpty || $0.closed })
        }
    }

    private let incoming: Buffer
    private let outgoing: Buffer
    /// What read timeouts are measured on.
    private let clock: any Clock<Duration>

    private init(incoming: Buffer, outgoing: Buffer, clock: any Clock<Duration>) {
        self.incoming = incoming
        self.outgoing = outgoing
        self.clock = clock
    }

    public static func pair(clock: any Clock<Duration> = ContinuousClock()) -> (MemoryByteStream, MemoryByteStream) {
        let a = Buffer()
        let b = Buffer()
        return (MemoryByteStream(incoming: a, outgoing: b, clock: clock), MemoryByteStream(incoming: b, outgoing: a, clock: clock))
    }

    public func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let incoming = self.incoming
        func take() throws -> [UInt8]? {
            try incoming.held.withLockedValue { held in
                guard held.data.isEmpty else {
                    let taken = Array(held.data.prefix(maximum))
                    held.data.removeFirst(taken.count)
                    return taken
                }
                if held.closed { throw LinkError.disconnected }
                return nil
            }
        }
        if let bytes = try take() { return bytes }
        // Woken by the write or the close itself: no polling, and a busy machine only delays.
        guard try await finished(within: timeout, clock: clock, {
            try await incoming.arrivals.wait(until: { $0 }, now: { incoming.readable })
        }) != nil else { return [] }
        return try take() ?? []
    }

    public func write(_ bytes: [UInt8]) async throws {
        var closed = false
        outgoing.change { held in
            closed = held.closed
            if !held.closed { held.data += bytes }
        }
        if closed { throw LinkError.disconnected }
    }

    public func close() async {
        outgoing.change { $0.closed = true }
        incoming.change { $0.closed = true }
    }
}
