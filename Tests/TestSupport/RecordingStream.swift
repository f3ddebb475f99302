import Links

/// A `ByteStream` that passes everything through and keeps both directions in order: what an
/// independent tool sent, and what the board answered right after.
public struct RecordingStream<Base: ByteStream>: ByteStream {
    public enum Direction: Hashable, Sendable { case fromBoard, toBoard }

    public actor Transcript {
        public private(set) var entries: [(direction: Direction, bytes: [UInt8])] = []
        func add(_ direction: Direction, _ bytes: [UInt8]) { if !bytes.isEmpty { entries.append((direction, bytes)) } }

        /// Everything the board sent, as one stream.
        public var fromBoard: [UInt8] { entries.filter { $0.direction == .fromBoard }.flatMap(\.bytes) }

        /// The board's first bytes after the host's first write that is exactly `bytes`.
        public func boardAnswer(after bytes: [UInt8]) -> [UInt8]? {
            guard let index = entries.firstIndex(where: { $0.direction == .toBoard && $0.bytes == bytes }) else { return nil }
            return entries[(index + 1)...].first { $0.direction == .fromBoard }?.bytes
        }
    }

    public let base: Base
    public let transcript = Transcript()

    public init(_ base: Base) { self.base = base }

    public func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let bytes = try await base.read(maximum: maximum, timeout: timeout)
        await transcript.add(.fromBoard, bytes)
        return bytes
    }

    public func write(_ bytes: [UInt8]) async throws {
        await transcript.add(.toBoard, bytes)
        try await base.write(bytes)
    }

    public func close() async { await base.close() }
}
