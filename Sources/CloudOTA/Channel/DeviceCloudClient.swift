import Links
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import NIOConcurrencyHelpers

/// Where a device finds its cloud.
public struct DeviceCloudEndpoint: Hashable, Sendable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }
}

/// A device's side of the channel: one TLS session with mutual authentication, the hello, then
/// the cloud's requests answered one by one until the session ends.
public struct DeviceCloudClient: Sendable {
    public let credentials: DeviceCredentials
    public let endpoint: DeviceCloudEndpoint
    /// What the 200 ms wait before acknowledging a lone chunk runs on.
    public let acknowledgementClock: any Clock<Duration>
    let context: NIOSSLContext

    public init(credentials: DeviceCredentials, endpoint: DeviceCloudEndpoint, acknowledgementClock: any Clock<Duration> = ContinuousClock()) throws {
        self.credentials = credentials
        self.endpoint = endpoint
        self.acknowledgementClock = acknowledgementClock
        self.context = try NIOSSLContext(configuration: try credentials.clientConfiguration())
    }

    /// How each of a session's tasks ended.
    private enum SessionTask: Sendable {
        /// The session ends this way (the first such decision counts).
        case ended(DeviceSessionEnd)
        /// The writer sent everything queued before the end.
        case drained
        case timerStopped
    }

    /// Runs one session. `outbox` carries what the device publishes meanwhile
    /// (`particle/device/updates/enabled`); its end ends the session.
    public func session(device: some CloudDevice, outbox: AsyncStream<(name: String, data: String)>) async throws -> DeviceSessionEnd {
        let context = self.context
        let handshake = TLSHandshakeFlag()
        let channel: NIOAsyncChannel<DeviceMessage, DeviceMessage>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: CloudTrust.cloudHostName))
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(flag: handshake))
                        try channel.pipeline.syncOperations.addDeviceMessageCodec()
                        return try NIOAsyncChannel<DeviceMessage, DeviceMessage>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw DeviceChannelError.unreachable("\(endpoint.host):\(endpoint.port): \(error)")
        }
        let clock = acknowledgementClock
        do {
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(.hello(try await device.hello()))
                // Everything the device sends goes through one writer, in the order it was decided:
                // an acknowledgement held for its pair never overtakes a later one, nor the answer
                // after it.
                let (queue, output) = AsyncStream.makeStream(of: DeviceMessage.self)
                let acknowledgements = AcknowledgementBatch(output: output, clock: clock)
                return try await withThrowingTaskGroup(of: SessionTask.self) { group in
                    group.addTask {
                        for await message in queue { try await outbound.write(message) }
                        return .drained
                    }
                    group.addTask {
                        await acknowledgements.runTimer()
                        return .timerStopped
                    }
                    group.addTask {
                        for await event in outbox { output.yield(.event(name: event.name, data: event.data)) }
                        return .ended(.disconnected)
                    }
                    group.addTask {
                        for try await message in inbound {
                            switch message {
                            case .event(let name, let data):
                                acknowledgements.flush()
                                for reply in await device.received(event: name, data: data) {
                                    output.yield(.event(name: reply.name, data: reply.data))
                                }
                            case .request(let id, let request):
                                let response: DeviceResponse
                                do {
                                    response = try await Self.answer(request, device: device)
                                } catch LinkError.disconnected {
                                    // Gone with its power: what it held back goes nowhere.
                                    acknowledgements.end()
                                    return .ended(.deviceGone)
                                }
                                if case .updateChunk = request, case .acknowledged = response {
                                    acknowledgements.add(id: id, response)
                                    continue
                                }
                                acknowledgements.send(afterFlushing: .response(id: id, response))
                                if response == .finished { return .ended(.deviceResets) }
                            case .hello, .response:
                                throw DeviceChannelError.protocolViolation("the cloud sent a device's message")
                            }
                        }
                        return .ended(try handshake.closed())
                    }
                    // The first end decided counts. What was queued before it still goes out (the
                    // UpdateFinish answer before the reset), then the session closes.
                    var end: DeviceSessionEnd?
                    var drained = false
                    while let task = try await group.next() {
                        switch task {
                        case .ended(let decided):
                            guard end == nil else { break }
                            end = decided
                            acknowledgements.end()
                            output.finish()
                        case .drained:
                            drained = true
                        case .timerStopped:
                            break
                        }
                        if let end, drained {
                            group.cancelAll()
                            return end
                        }
                    }
                    // Every task ended without both (only a cancelled session gets here).
                    group.cancelAll()
                    return end ?? .disconnected
                }
            }
        } catch let error as NIOSSLError {
            throw DeviceChannelError.untrustedPeer("\(error)")
        } catch let error as BoringSSLError {
            throw DeviceChannelError.untrustedPeer("\(error)")
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed || error == .eof {
            return try handshake.closed()
        } catch is IOError {
            // Reset by the peer, a broken pipe: the network dropped the session.
            return try handshake.closed()
        }
    }

    static func answer(_ request: DeviceRequest, device: some CloudDevice) async throws -> DeviceResponse {
        do {
            switch request {
            case .updateStart(let size, let sha256, let chunkSize):
                return .started(offset: try await device.start(size: size, sha256: sha256, chunkSize: chunkSize))
            case .updateChunk(let index, let data):
                let ack = try await device.chunk(index: index, data: data)
                return .acknowledged(upTo: ack.upTo, selective: ack.selective)
            case .updateFinish(let cancel):
                try await device.finish(cancel: cancel)
                return cancel ? .refused("cancelled") : .finished
            }
        } catch LinkError.disconnected {
            throw LinkError.disconnected
        } catch {
            return .refused("\(error)")
        }
    }
}

/// Whether the TLS handshake completed: a connection that closes before it did was refused by
/// TLS (a failed certificate check can show as a bare close rather than an error).
final class TLSHandshakeFlag: Sendable {
    private let completed = NIOLockedValueBox(false)

    func complete() { completed.withLockedValue { $0 = true } }

    /// How a session whose connection closed ended: closed, or refused when TLS never completed.
    func closed() throws -> DeviceSessionEnd {
        guard completed.withLockedValue({ $0 }) else { throw DeviceChannelError.untrustedPeer("the connection closed before the TLS handshake completed") }
        return .connectionClosed
    }
}

final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let flag: TLSHandshakeFlag

    init(flag: TLSHandshakeFlag) {
        self.flag = flag
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { flag.complete() }
        context.fireUserInboundEventTriggered(event)
    }
}
