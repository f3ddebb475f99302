import Cloud
import Foundation
import Links
import LocalCloud
import Testing

/// Who sees which event, and the heartbeat that keeps idle streams open, on a clock the test moves.
@Suite("Local cloud event hub", .timeLimit(.minutes(5)))
struct EventHubTests {
    static func event(_ name: String, coreid: String = "e00fce68000d000000000001") -> CloudEvent {
        CloudEvent(name: name, data: "d", coreid: coreid, publishedAt: "2026-01-01T00:00:00Z")
    }

    @Test("A stream beats at 9 s, under particle-api-js's 13 s idle limit, and not before")
    func heartbeat() async throws {
        let clock = ManualClock()
        let hub = EventHub(clock: clock)
        var stream = hub.subscribe(product: "p", prefix: nil).makeAsyncIterator()
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(8_999))
        // Had it beaten already, the beat would come out before this event.
        hub.publish(product: "p", Self.event("x"))
        #expect(try #require(await stream.next()) == Self.event("x"))
        clock.advance(by: .milliseconds(1))
        #expect(await stream.next() == .some(nil), "a heartbeat at 9 s")
        await clock.waitForSleepers()
        clock.advance(by: .seconds(9))
        #expect(await stream.next() == .some(nil), "and every 9 s after")
    }

    @Test("Product streams see their product; product-less streams see every product and the API's own events; device filters ignore case")
    func routing() async throws {
        let hub = EventHub(heartbeat: .seconds(3600))
        var product = hub.subscribe(product: "p", prefix: "spark/").makeAsyncIterator()
        var everything = hub.subscribe(product: nil, prefix: nil).makeAsyncIterator()
        var device = hub.subscribe(product: nil, prefix: nil, device: "E00FCE68000D000000000002").makeAsyncIterator()
        hub.publish(product: "q", Self.event("spark/status"))
        hub.publish(product: nil, Self.event("bench/hello", coreid: "api"))
        hub.publish(product: "p", Self.event("app/x"))
        hub.publish(product: "p", Self.event("spark/flash/status", coreid: "e00fce68000d000000000002"))
        #expect(try #require(await product.next())?.name == "spark/flash/status", "other products, the API's and other prefixes pass it by")
        var names: [String] = []
        for _ in 0..<4 {
            let event = try #require(await everything.next())
            names.append(try #require(event).name)
        }
        #expect(names == ["spark/status", "bench/hello", "app/x", "spark/flash/status"])
        #expect(try #require(await device.next())?.coreid == "e00fce68000d000000000002")
    }
}
