import Links
import NIOConcurrencyHelpers

/// A stream whose first reads return bytes already taken from `base`.
final class PrefixedStream<Base: ByteStream>: ByteStream {
    private let pending: NIOLockedValueBox<[UInt8]>
    private let base: Base

    init(prefix: [UInt8], base: Base) {
        pending = NIOLockedValueBox(prefix)
        self.base = base
    }

    func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let taken = pending.withLockedValue { bytes -> [UInt8] in
            let taken = Array(bytes.prefix(maximum))
            bytes.removeFirst(taken.count)
            return taken
        }
        return taken.isEmpty ? try await base.read(maximum: maximum, timeout: timeout) : taken
    }

    func write(_ bytes: [UInt8]) async throws { try await base.write(bytes) }
    func close() async { await base.close() }
}
