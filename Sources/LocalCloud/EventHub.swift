import Cloud
import Foundation
import NIOConcurrencyHelpers

/// Fans events out to every open event stream of their product.
public final class EventHub: Sendable {
    /// A nil element is a heartbeat: the stream writes a comment so idle connections stay open.
    private let subscribers = NIOLockedValueBox<[UUID: (product: String, prefix: String?, device: String?, continuation: AsyncStream<CloudEvent?>.Continuation)]>([:])
    let heartbeat: Duration

    public init(heartbeat: Duration = .seconds(15)) {
        self.heartbeat = heartbeat
    }

    public func publish(product: String, _ event: CloudEvent) {
        let targets = subscribers.withLockedValue { $0.values.filter {
            $0.product == product && ($0.prefix.map(event.name.hasPrefix) ?? true) && ($0.device.map { $0 == event.coreid } ?? true)
        } }
        for target in targets { target.continuation.yield(event) }
    }

    /// Events of `product` (names starting with `prefix`; of one device when `device` is set)
    /// from now on, until the stream is dropped.
    public func subscribe(product: String, prefix: String?, device: String? = nil) -> AsyncStream<CloudEvent?> {
        let id = UUID()
        // A slow reader loses the oldest events rather than growing the server without bound.
        let (stream, continuation) = AsyncStream.makeStream(of: CloudEvent?.self, bufferingPolicy: .bufferingNewest(10_000))
        subscribers.withLockedValue { $0[id] = (product, prefix, device, continuation) }
        let beat = heartbeat
        let beater = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: beat)
                continuation.yield(nil)
            }
        }
        continuation.onTermination = { [weak self] _ in
            beater.cancel()
            _ = self?.subscribers.withLockedValue { $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every open stream (the server is stopping).
    public func finishAll() {
        for subscriber in subscribers.withLockedValue({ Array($0.values) }) { subscriber.continuation.finish() }
    }
}
