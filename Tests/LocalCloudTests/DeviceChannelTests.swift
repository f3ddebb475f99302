import CloudOTA
import Foundation
import Links
@testable import LocalCloud
import NIOCore
import NIOPosix
import NIOSSL
import TestSupport
import Testing

/// The device channel's framing and what the gateway does with peers that do not speak it.
@Suite("Device channel messages and bad peers", .timeLimit(.minutes(2)))
struct DeviceChannelTests {
    static let messages: [DeviceMessage] = [
        .hello(DeviceHello(deviceID: "e00fce680000000000002001", platformID: 13, productVersion: 7, updatesEnabled: false, updatesForced: true)),
        .hello(DeviceHello(deviceID: "e00fce680000000000002002", platformID: 32, productVersion: nil, updatesEnabled: true)),
        .event(name: "particle/device/updates/pending", data: "true"),
        .request(id: 1, .updateStart(size: 262_144, sha256: Array(0..<32), chunkSize: 512)),
        .request(id: 2, .updateChunk(index: 511, data: Array(repeating: 0xA5, count: 512))),
        .request(id: 3, .updateFinish(cancel: true)),
        .response(id: 1, .started(offset: 15_360)),
        .response(id: 2, .acknowledged(upTo: 30, selective: [32, 33, 40])),
        .response(id: 3, .finished),
        .response(id: 4, .refused("updates are disabled")),
    ]

    static func encoded(_ message: DeviceMessage) -> [UInt8] {
        var buffer = ByteBuffer()
        message.write(to: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test("Every message reads back as written; every shortened or lengthened one is refused with a reason")
    func roundTrip() throws {
        for message in Self.messages {
            let bytes = Self.encoded(message)
            var buffer = ByteBuffer(bytes: bytes)
            #expect(try DeviceMessage(from: &buffer) == message)
            for cut in 0..<bytes.count {
                var short = ByteBuffer(bytes: bytes[..<cut])
                #expect(throws: DeviceMessageError.self) { try DeviceMessage(from: &short) }
            }
            var long = ByteBuffer(bytes: bytes + [0])
            #expect(throws: DeviceMessageError.self) { try DeviceMessage(from: &long) }
        }
    }

    @Test("The gateway keeps the newest records, not all of them: a cloud serving for weeks stays bounded")
    func recordsBounded() {
        var list: [Int] = []
        for value in 0..<(DeviceGateway.recordLimit + 5) { DeviceGateway.append(value, to: &list) }
        #expect(list.count == DeviceGateway.recordLimit)
        #expect(list.first == 5 && list.last == DeviceGateway.recordLimit + 4)
    }

    @Test("Random bytes never crash the reader: each is a message or a refusal")
    func garbage() {
        var random = SplitMix64(seed: 42)
        var refused = 0
        for _ in 0..<20_000 {
            let count = Int(random.next() % 64)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            // Half of them start with a valid type, so the reader gets past the first byte.
            if !bytes.isEmpty, random.next() % 2 == 0 { bytes[0] = UInt8(1 + random.next() % 4) }
            var buffer = ByteBuffer(bytes: bytes)
            do { _ = try DeviceMessage(from: &buffer) } catch { refused += 1 }
        }
        #expect(refused > 19_000)
    }

    /// Waits until `condition` holds: a loaded machine makes this later, never false. Giving
    /// up after a few seconds let the test go on with the condition unmet, and fail later on
    /// something else; the suite's time limit is what stops a condition that never comes.
    static func eventually(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// A gateway on loopback with short timeouts, for peers that misbehave.
    static func gateway(_ name: String, clock: any Clock<Duration> = ContinuousClock()) async throws -> (DeviceGateway, Task<Void, any Error>, Int, CloudTrust) {
        let folder = try temporaryFolder(name)
        let trust = try CloudTrust.create()
        let gateway = DeviceGateway(store: try LocalCloudStore(path: folder.appendingPathComponent("cloud.sqlite").path), events: EventHub(),
                                    trust: trust, helloTimeout: .milliseconds(500), clock: clock)
        let (task, port) = try await LocalGateway.serve(gateway)
        return (gateway, task, port, trust)
    }

    /// Connects, optionally through TLS as a device, writes `bytes`, and waits for the gateway
    /// to close the connection. Returns whether it did; a minute is only the bound on a gateway
    /// that never does, far beyond what load makes of a close.
    static func closedAfter(writing bytes: [UInt8], port: Int, as credentials: DeviceCredentials?) async throws -> Bool {
        let context = try credentials.map { try NIOSSLContext(configuration: try $0.clientConfiguration()) }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: CloudTrust.cloudHostName))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await channel.executeThenClose { inbound, outbound in
                        if !bytes.isEmpty { try await outbound.write(ByteBuffer(bytes: bytes)) }
                        for try await _ in inbound {}
                    }
                } catch {}
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                return false
            }
            let closed = try await group.next()!
            group.cancelAll()
            channel.channel.close(promise: nil)
            return closed
        }
    }

    @Test("Plain bytes instead of TLS, silence, an oversized frame, a message that does not decode: each connection is closed, the gateway serves on")
    func badPeers() async throws {
        // The hello timeout runs on a clock only this test moves: a handshake slowed by a busy
        // machine is never taken for silence.
        let clock = ManualClock()
        let (gateway, task, port, trust) = try await Self.gateway("channel-bad-peers", clock: clock)
        let device = try trust.provisionDevice("e00fce680000000000002001")
        #expect(try await Self.closedAfter(writing: Array("GET / HTTP/1.1\r\n\r\n".utf8), port: port, as: nil))
        // Silence: each connection's hello timer is on the clock; once the earlier one's is gone,
        // the silent one's is the only one, and moving the clock past it closes the connection.
        try await Self.eventually { gateway.refusals.count >= 1 && clock.sleeperCount == 0 }
        let silent = Task { try await Self.closedAfter(writing: [], port: port, as: device) }
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(500))
        #expect(try await silent.value, "silence: closed at the hello timeout")
        #expect(try await Self.closedAfter(writing: [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3], port: port, as: device))
        #expect(try await Self.closedAfter(writing: [0, 0, 0, 3, 9, 9, 9], port: port, as: device))
        // The gateway records a refusal as it closes, so the peer may see the close first.
        try await Self.eventually { gateway.refusals.count >= 4 }
        let refusals = gateway.refusals
        #expect(refusals.count == 4, "\(refusals)")
        #expect(refusals.contains { $0.contains("over the 65536-byte limit") })
        #expect(refusals.contains { $0.contains("unknown message type 9") })
        // Still serving: a well-behaved device with an unknown id is turned away for that reason.
        #expect(try await Self.closedAfter(writing: DeviceMessageFraming.frame(.hello(DeviceHello(deviceID: "e00fce680000000000002001", platformID: 13,
                                                                                                productVersion: 1, updatesEnabled: true))),
                                           port: port, as: device))
        try await Self.eventually { gateway.refusals.count >= 5 }
        #expect(gateway.refusals.last?.contains("belongs to no product") == true, "\(gateway.refusals)")
        task.cancel()
        _ = await task.result
    }
}

extension DeviceChannelTests {
    @Test("Stopping the gateway while devices keep connecting ends cleanly, round after round")
    func stopWhileConnecting() async throws {
        for round in 0..<6 {
            let (_, task, port, trust) = try await Self.gateway("channel-stop-\(round)")
            let context = try NIOSSLContext(configuration: try trust.provisionDevice("e00fce680000000000002001").clientConfiguration())
            let storm = Task {
                await withDiscardingTaskGroup { group in
                    for _ in 0..<8 {
                        group.addTask {
                            while !Task.isCancelled {
                                // Connect and leave at once, often in the middle of the handshake.
                                let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                                    .connect(host: "127.0.0.1", port: port) { channel in
                                        channel.eventLoop.makeCompletedFuture {
                                            try channel.pipeline.syncOperations.addHandler(
                                                try NIOSSLClientHandler(context: context, serverHostname: CloudTrust.cloudHostName))
                                            return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                                        }
                                    }
                                try? await channel?.executeThenClose { _, _ in }
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(150))
            task.cancel()
            // Stopping is not a failure: the gateway ends, with nothing worse than the cancellation.
            if case .failure(let error) = await task.result {
                #expect(error is CancellationError, "round \(round): the gateway ended with \(error)")
            }
            storm.cancel()
            await storm.value
            // And stopped means stopped: the port no longer takes connections.
            let after = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in channel.eventLoop.makeSucceededFuture(channel) }
            #expect(after == nil, "round \(round): the gateway's port still accepts after it stopped")
            try? await after?.close()
        }
    }
}

/// A message as it goes on the wire, length first.
enum DeviceMessageFraming {
    static func frame(_ message: DeviceMessage) -> [UInt8] {
        var buffer = ByteBuffer()
        try! DeviceMessageEncoder().encode(data: message, out: &buffer)
        return Array(buffer.readableBytesView)
    }
}
