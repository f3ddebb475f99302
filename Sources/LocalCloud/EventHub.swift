import Cloud
import Foundation
import NIOConcurrencyHelpers

/// Fans events out to every open event stream that wants them: a product's streams get its
/// events, product-less streams (`/v1/events`, `/v1/devices/events`) every event.
public final class EventHub: Sendable {
    struct Subscriber {
        /// Nil: every product's events, and those published to no product.
        var product: String?
        var prefix: String?
        /// Lowercase; nil: every device's.
        var device: String?
        /// A nil element is a heartbeat: the stream writes a comment so idle connections stay open.
        var continuation: AsyncStream<CloudEvent?>.Continuation
    }

    private let subscribers = NIOLockedValueBox<[UUID: Subscriber]>([:])
    /// Under 13 s: particle-api-js drops a stream that has been silent that long and reconnects
    /// (losing what is published meanwhile), since Particle's cloud beats within 12 s.
    let heartbeat: Duration
    /// What the heartbeats are timed on (a test moves it).
    let clock: any Clock<Duration>

    public init(heartbeat: Duration = .seconds(9), clock: any Clock<Duration> = ContinuousClock()) {
        self.heartbeat = heartbeat
        self.clock = clock
    }

    /// `product` nil: an event published to no product (`POST /v1/devices/events`), which only
    /// the product-less streams see.
    public func publish(product: String?, _ event: CloudEvent) {
        let coreid = event.coreid.lowercased()
        let targets = subscribers.withLockedValue { $0.values.filter {
            ($0.product == nil || $0.product == product) && ($0.prefix.map(event.name.hasPrefix) ?? true) && ($0.device.map { $0 == coreid } ?? true)
        } }
        for target in targets { target.continuation.yield(event) }
    }

    /// Events of `product` (of every product when nil; names starting with `prefix`; of one
    /// device when `device` is set) from now on, until the stream is dropped.
    public func subscribe(product: String?, prefix: String?, device: String? = nil) -> AsyncStream<CloudEvent?> {
        let id = UUID()
        // A slow reader loses the oldest events rather than growing the server without bound.
        let (stream, continuation) = AsyncStream.makeStream(of: CloudEvent?.self, bufferingPolicy: .bufferingNewest(10_000))
        subscribers.withLockedValue { $0[id] = Subscriber(product: product, prefix: prefix, device: device?.lowercased(), continuation: continuation) }
        let beat = heartbeat, clock = self.clock
        let beater = Task {
            while !Task.isCancelled {
                try await clock.sleep(for: beat)
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
