import Synchronization

/// Two `ByteStream`s joined back to back in memory: what one writes the other reads. For
/// tests, and for joining a protocol to a process's pipes.
public final class MemoryByteStream: ByteStream {
    private final class Buffer: Sendable {
        let bytes = Mutex<(data: [UInt8], closed: Bool)>(([], false))
    }

    private let incoming: Buffer
    private let outgoing: Buffer
    private let pollInterval: Duration

    private init(incoming: Buffer, outgoing: Buffer, pollInterval: Duration) {
        self.incoming = incoming
        self.outgoing = outgoing
        self.pollInterval = pollInterval
    }

    public static func pair(pollInterval: Duration = .milliseconds(1)) -> (MemoryByteStream, MemoryByteStream) {
        let a = Buffer()
        let b = Buffer()
        return (MemoryByteStream(incoming: a, outgoing: b, pollInterval: pollInterval),
                MemoryByteStream(incoming: b, outgoing: a, pollInterval: pollInterval))
    }

    public func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (bytes, closed) = incoming.bytes.withLock { state -> ([UInt8], Bool) in
                let count = min(maximum, state.data.count)
                let taken = Array(state.data.prefix(count))
                state.data.removeFirst(count)
                return (taken, state.closed)
            }
            if !bytes.isEmpty { return bytes }
            if closed { throw LinkError.disconnected }
            if ContinuousClock.now >= deadline { return [] }
            try await Task.sleep(for: pollInterval)
        }
    }

    public func write(_ bytes: [UInt8]) async throws {
        let closed = outgoing.bytes.withLock { state -> Bool in
            if !state.closed { state.data += bytes }
            return state.closed
        }
        if closed { throw LinkError.disconnected }
    }

    public func close() async {
        outgoing.bytes.withLock { $0.closed = true }
        incoming.bytes.withLock { $0.closed = true }
    }
}
