import Cloud
@testable import CloudOTA
import Emulator
import Firmware
import Foundation
@testable import LocalCloud
import Links
import NIOCore
import NIOPosix
import NIOSSL
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// How a device's sessions follow one another on the gateway, how a session ends, and the order
/// of acknowledgements, each under the interleaving that load makes only sometimes, forced here
/// (a held checkpoint, a device the test speaks for, a clock that moves when told).
@Suite("Gateway sessions: succession, ends, acknowledgement order", .timeLimit(.minutes(10)))
struct GatewaySessionTests {
    // MARK: Cause 1: the reconnect after UpdateFinish

    @Test("A device back after UpdateFinish waits for its old session to finish on the answer it sent: delivered, success before online",
          .timeLimit(.minutes(1)))
    func reconnectAfterFinish() async throws {
        try await CloudFleet.with(count: 1, folder: try temporaryFolder("session-succession")) { fleet in
            let id = fleet.ids[0]
            let finishRead = Gate(), release = Gate()
            // The old session has read the board's finish answer and is held there; the board
            // resets and says hello on a new connection, which closes the old one. Only then does
            // the old session handle the answer: the order a loaded machine makes now and then.
            fleet.gateway.hold { device, point in
                guard device == id else { return }
                switch point {
                case .handling(.response(_, .finished)):
                    finishRead.open()
                    await release.wait()
                case .superseding:
                    await finishRead.wait()
                    release.open()
                default:
                    break
                }
            }
            var events = try await fleet.client.events(product: CloudFleet.product).makeAsyncIterator()
            // Product version 1, what the release targets: the next session sends nothing more.
            let app = try FirmwareSet.application(for: CloudFleet.platform, size: 24_000, seed: 78, product: .init(id: 4242, version: 1))
            try await fleet.client.flashDevice(id, firmware: app)
            var seen: [String] = []
            while seen.last != "spark/status online", let event = try await events.next() {
                if event.coreid == id { seen.append("\(event.name) \(event.data)") }
            }
            fleet.gateway.hold(at: nil)
            #expect(seen == ["spark/flash/status started ", "spark/flash/status success ", "spark/status offline", "spark/status online"])
            #expect(release.isOpen, "the finish answer was released by the new session's checkpoint")
            #expect(fleet.gateway.transfers.map(\.outcome) == [.delivered])
            #expect(fleet.gateway.sessionsBegun(id) == 2)
            let running = await fleet.boards[0].update { $0.runningApp?.size }
            #expect(running == app.count)
        }
    }

    @Test("Waiting for a device's session ends at its hello, not on a timer; a cancelled wait ends at once", .timeLimit(.minutes(1)))
    func waitForSession() async throws {
        let cloud = try await FakeCloud.start("session-wait")
        let cancelled = Task { try await cloud.gateway.waitForSession(FakeCloud.deviceID, beyond: 0) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }

        let first = Task { try await cloud.gateway.waitForSession(FakeCloud.deviceID, beyond: 0) }
        let device = try cloud.device()
        try await device.session { _, _ in try await first.value }
        #expect(cloud.gateway.sessionsBegun(FakeCloud.deviceID) == 1)
        // One begun already: a wait beyond none returns at once, a wait beyond one needs the next hello.
        try await cloud.gateway.waitForSession(FakeCloud.deviceID, beyond: 0)
        let second = Task { try await cloud.gateway.waitForSession(FakeCloud.deviceID, beyond: 1) }
        try await device.session { _, _ in try await second.value }
        #expect(cloud.gateway.sessionsBegun(FakeCloud.deviceID) == 2)
        await cloud.stop()
    }

    // MARK: Cause 2: every way out of a session closes it

    @Test("A request left unanswered ends the session once the gateway's clock passes the request timeout, never before",
          .timeLimit(.minutes(1)))
    func requestTimeoutOnItsClock() async throws {
        let clock = ManualClock()
        let cloud = try await FakeCloud.start("session-request-timeout", requestTimeout: .seconds(30), clock: clock)
        do {
            var events = cloud.events()
            try cloud.flash(FakeCloud.file(seed: 3))
            try await cloud.device().session { messages, _ in
                let start = try await FakeDevice.request(&messages)
                guard case .updateStart = start.request else { throw FakeDevice.unexpected(start.request) }
                // Not answered. The session's watch sleeps on the clock; once it has looked at
                // 29 s and gone back to sleep, the session must still stand.
                await clock.waitForSleepers()
                clock.advance(by: .seconds(29))
                await clock.waitForSleepers()
                #expect(cloud.gateway.onlineDevices.contains(FakeCloud.deviceID))
                clock.advance(by: .seconds(2))
                // The gateway gives up on the request: the connection closes.
                while (try? await messages.next()) != nil {}
            }
            var seen: [String] = []
            while let event = await FakeCloud.next(&events) {
                seen.append(event)
                if event == "spark/status offline" { break }
            }
            #expect(seen.first == "spark/status online" && seen.last == "spark/status offline", "\(seen)")
        } catch {
            await cloud.stop()
            throw error
        }
        await cloud.stop()
    }

    @Test("A protocol violation mid-transfer ends the session at once: failed published, the session gone, the next direct flash reaches the next session",
          .timeLimit(.minutes(1)))
    func violationEndsSession() async throws {
        let cloud = try await FakeCloud.start("session-violation")
        do {
            var events = cloud.events()
            try cloud.flash(FakeCloud.file(seed: 1))
            let device = try cloud.device()
            try await device.session { messages, outbound in
                let start = try await FakeDevice.request(&messages)
                guard case .updateStart = start.request else { throw FakeDevice.unexpected(start.request) }
                try await outbound.write(.response(id: start.id, .started(offset: 0)))
                _ = try await FakeDevice.request(&messages)
                // An answer to a request the cloud never made.
                try await outbound.write(.response(id: 9_999, .finished))
                // The gateway ends the session: the rest of what it sent, then the close.
                while (try? await messages.next()) != nil {}
            }
            let online = await FakeCloud.next(&events)
            let failed = await FakeCloud.next(&events)
            // The next flash, while the failed session may still be winding down: it must not be
            // handed to that session, but wait for the next.
            let second = FakeCloud.file(seed: 2)
            try cloud.flash(second)
            let offline = await FakeCloud.next(&events)
            #expect([online, failed, offline] == ["spark/status online", "spark/flash/status failed ", "spark/status offline"])
            #expect(!cloud.gateway.onlineDevices.contains(FakeCloud.deviceID))
            guard case .interrupted? = cloud.gateway.transfers.last?.outcome else {
                Issue.record("the first transfer is not recorded interrupted: \(cloud.gateway.transfers)")
                await cloud.stop()
                return
            }

            try await device.session { messages, outbound in
                let chunks = try await FakeDevice.acceptChunks(&messages, outbound)
                #expect(chunks.count == second.count / 512)
                try await outbound.write(.response(id: chunks.last!, .acknowledged(upTo: chunks.count, selective: [])))
                try await FakeDevice.finish(&messages, outbound)
            }
            let again = await FakeCloud.next(&events)
            let success = await FakeCloud.next(&events)
            // Published once the session's work is over, its transfer recorded.
            let gone = await FakeCloud.next(&events)
            #expect([again, success, gone] == ["spark/status online", "spark/flash/status success ", "spark/status offline"])
            let transfers = cloud.gateway.transfers
            #expect(transfers.count == 2 && transfers.last?.outcome == .delivered && transfers.last?.chunksSent == second.count / 512, "\(transfers)")
        } catch {
            await cloud.stop()
            throw error
        }
        await cloud.stop()
    }

    // MARK: Cause 3: acknowledgements out of order

    @Test("A late cumulative acknowledgement (chunk 0's after chunk 2's) is ignored: the transfer is delivered and the session kept",
          .timeLimit(.minutes(1)))
    func lateAcknowledgement() async throws {
        let cloud = try await FakeCloud.start("session-late-ack")
        do {
            var events = cloud.events()
            let file = FakeCloud.file(seed: 3)
            try cloud.flash(file)
            let device = try cloud.device()
            try await device.session { messages, outbound in
                let chunks = try await FakeDevice.acceptChunks(&messages, outbound)
                #expect(chunks.count == 8)
                // Chunk 2's acknowledgement overtook chunk 0's on the way (the device's timer
                // flushing a lone chunk as a pair went out); the one for all eight comes last.
                try await outbound.write(.response(id: chunks[2], .acknowledged(upTo: 3, selective: [])))
                try await outbound.write(.response(id: chunks[0], .acknowledged(upTo: 1, selective: [])))
                try await outbound.write(.response(id: chunks[7], .acknowledged(upTo: 8, selective: [])))
                try await FakeDevice.finish(&messages, outbound)
                let online = await FakeCloud.next(&events)
                let success = await FakeCloud.next(&events)
                #expect([online, success] == ["spark/status online", "spark/flash/status success "])
                // The session still reads: an event the device publishes now reaches the stream.
                try await outbound.write(.event(name: "temperature", data: "21.5"))
                let published = await FakeCloud.next(&events)
                #expect(published == "temperature 21.5")
                #expect(cloud.gateway.onlineDevices.contains(FakeCloud.deviceID))
            }
            // Published once the session's work is over, its transfer recorded.
            let offline = await FakeCloud.next(&events)
            #expect(offline == "spark/status offline")
            let transfers = cloud.gateway.transfers
            #expect(transfers.count == 1 && transfers.first?.outcome == .delivered && transfers.first?.chunksSent == 8, "\(transfers)")
            #expect(cloud.gateway.sessionsBegun(FakeCloud.deviceID) == 1)
        } catch {
            await cloud.stop()
            throw error
        }
        await cloud.stop()
    }

    static func ack(_ id: UInt32) -> DeviceResponse { .acknowledged(upTo: Int(id), selective: []) }

    @Test("The device's acknowledgements go out as decided: a lone chunk's after its timer, a pair's at once, one held before the next answer")
    func deviceAcknowledgementOrder() async {
        let clock = ManualClock()
        let (wire, output) = AsyncStream.makeStream(of: DeviceMessage.self)
        let batch = AcknowledgementBatch(output: output, clock: clock)
        let timer = Task { await batch.runTimer() }
        var sent = wire.makeAsyncIterator()

        // A lone chunk: held until its timer fires.
        batch.add(id: 1, Self.ack(1))
        await clock.waitForSleepers(1)
        clock.advance(by: AcknowledgementBatch.delay)
        let first = await sent.next()
        #expect(first == DeviceMessage.response(id: 1, Self.ack(1)))
        // Chunk 2 arms the timer again; chunk 3 pairs with it first: one cumulative answer, 3's.
        batch.add(id: 2, Self.ack(2))
        batch.add(id: 3, Self.ack(3))
        let pair = await sent.next()
        #expect(pair == DeviceMessage.response(id: 3, Self.ack(3)))
        // The timer still armed fires with a lone chunk held (the moment that once let a flush
        // land after a later pair): it sends that chunk's, in its place.
        batch.add(id: 4, Self.ack(4))
        await clock.waitForSleepers(1)
        clock.advance(by: AcknowledgementBatch.delay)
        let lone = await sent.next()
        #expect(lone == DeviceMessage.response(id: 4, Self.ack(4)))
        // Another answer goes after what is held.
        batch.add(id: 5, Self.ack(5))
        batch.send(afterFlushing: .response(id: 6, .finished))
        let held = await sent.next()
        let finished = await sent.next()
        #expect(held == DeviceMessage.response(id: 5, Self.ack(5)))
        #expect(finished == DeviceMessage.response(id: 6, .finished))
        // The session ends: what is held is dropped, and the timer stops with it.
        batch.add(id: 7, Self.ack(7))
        batch.end()
        output.finish()
        let after = await sent.next()
        #expect(after == nil)
        await clock.waitForSleepers(1)
        clock.advance(by: AcknowledgementBatch.delay)
        await timer.value
    }

    @Test("Whatever the interleaving of the flush timer with the next chunks, the device's acknowledgements go out in order")
    func acknowledgementsStayOrdered() async {
        // A timer that fires as soon as it is armed, racing the chunks that follow.
        let (wire, output) = AsyncStream.makeStream(of: DeviceMessage.self)
        let batch = AcknowledgementBatch(output: output, clock: InstantClock())
        let timer = Task { await batch.runTimer() }
        var sent = wire.makeAsyncIterator()
        var ids: [UInt32] = []
        var next: UInt32 = 1
        for _ in 0..<500 {
            batch.add(id: next, Self.ack(next))
            batch.add(id: next + 1, Self.ack(next + 1))
            batch.add(id: next + 2, Self.ack(next + 2))
            // An answer after them takes out whatever is still held: chunk n+2's answer has gone
            // by now, alone or covering the others.
            batch.flush()
            while ids.last != next + 2, case .response(let id, _)? = await sent.next() { ids.append(id) }
            next += 3
        }
        #expect(ids.last == next - 1)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "out of order: \(ids)")
        batch.end()
        output.finish()
        await timer.value
    }
}

/// Holds whoever waits until it is opened.
final class Gate: Sendable {
    private struct State {
        var open = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    var isOpen: Bool { state.withLockedValue { $0.open } }

    func open() {
        let waiters = state.withLockedValue { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let open = state.withLockedValue { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }
}

/// A gateway for one device the test speaks for. Its clock never moves and its request timeout
/// is far off: whatever ends a session here, no timer did.
struct FakeCloud {
    static let product = "fake"
    static let deviceID = "e00fce680000000000003001"
    let gateway: DeviceGateway
    let task: Task<Void, any Error>
    let port: Int

    static func start(_ name: String, requestTimeout: Duration = .seconds(3600), clock: ManualClock = ManualClock()) async throws -> FakeCloud {
        let folder = try temporaryFolder(name)
        let store = try LocalCloudStore(path: folder.appendingPathComponent("cloud.sqlite").path)
        try store.addDevices(product: product, [deviceID])
        let gateway = DeviceGateway(store: store, events: EventHub(), trust: try CloudTrust.create(), requestTimeout: requestTimeout, clock: clock)
        let (task, port) = try await CloudFleet.serve(gateway)
        return FakeCloud(gateway: gateway, task: task, port: port)
    }

    /// Eight chunks' worth of bytes (the gateway sends any binary; only the fake device reads it).
    static func file(seed: UInt8) -> [UInt8] {
        (0..<(8 * 512)).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed }
    }

    func device() throws -> FakeDevice {
        FakeDevice(hello: DeviceHello(deviceID: Self.deviceID, platformID: 13, productVersion: 1, updatesEnabled: true),
                   context: try NIOSSLContext(configuration: try gateway.trust.provisionDevice(Self.deviceID).clientConfiguration()),
                   port: port)
    }

    /// A binary for the device alone, as `PUT /v1/devices/ID` keeps it and tells the gateway.
    func flash(_ binary: [UInt8]) throws {
        _ = try gateway.store.flashDevice(Self.deviceID, binary: binary)
        gateway.flashRequested(device: Self.deviceID)
    }

    /// The device's events from now on.
    func events() -> AsyncStream<CloudEvent?>.Iterator {
        gateway.events.subscribe(product: Self.product, prefix: nil, device: Self.deviceID).makeAsyncIterator()
    }

    /// The next event (heartbeats skipped) as "name data"; nil when the stream ended.
    static func next(_ events: inout AsyncStream<CloudEvent?>.Iterator) async -> String? {
        while let event = await events.next() {
            if let event { return "\(event.name) \(event.data)" }
        }
        return nil
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// A device's end of the channel, message by message as the test says, over a real TLS session.
struct FakeDevice {
    typealias Messages = NIOAsyncChannelInboundStream<DeviceMessage>.AsyncIterator
    typealias Writer = NIOAsyncChannelOutboundWriter<DeviceMessage>

    let hello: DeviceHello
    let context: NIOSSLContext
    let port: Int

    /// One connection: the hello, then `body`; closed when `body` returns.
    func session(_ body: (inout Messages, Writer) async throws -> Void) async throws {
        let context = self.context
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: CloudTrust.cloudHostName))
                    try channel.pipeline.syncOperations.addDeviceMessageCodec()
                    return try NIOAsyncChannel<DeviceMessage, DeviceMessage>(wrappingChannelSynchronously: channel)
                }
            }
        let hello = self.hello
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(.hello(hello))
            var messages = inbound.makeAsyncIterator()
            try await body(&messages, outbound)
        }
    }

    static func unexpected(_ what: Any) -> DeviceChannelError {
        .protocolViolation("the fake device did not expect \(what)")
    }

    /// The cloud's next request; anything else fails the test.
    static func request(_ messages: inout Messages) async throws -> (id: UInt32, request: DeviceRequest) {
        guard let message = try await messages.next() else { throw unexpected("the connection to close") }
        guard case .request(let id, let request) = message else { throw unexpected(message) }
        return (id, request)
    }

    /// Answers UpdateStart from the beginning and takes every chunk the cloud posts (it posts the
    /// whole window without waiting). Returns the chunks' request ids, in chunk order.
    static func acceptChunks(_ messages: inout Messages, _ outbound: Writer) async throws -> [UInt32] {
        let start = try await request(&messages)
        guard case .updateStart(let size, _, let chunkSize) = start.request else { throw unexpected(start.request) }
        try await outbound.write(.response(id: start.id, .started(offset: 0)))
        var ids: [UInt32] = []
        while ids.count < (size + chunkSize - 1) / chunkSize {
            let chunk = try await request(&messages)
            guard case .updateChunk(let index, _) = chunk.request, index == ids.count else { throw unexpected(chunk.request) }
            ids.append(chunk.id)
        }
        return ids
    }

    /// Answers UpdateFinish: the file is whole.
    static func finish(_ messages: inout Messages, _ outbound: Writer) async throws {
        let finish = try await request(&messages)
        guard finish.request == .updateFinish(cancel: false) else { throw unexpected(finish.request) }
        try await outbound.write(.response(id: finish.id, .finished))
    }
}
