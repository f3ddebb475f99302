import Cloud
import CloudOTA
import Foundation
import Links
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOConcurrencyHelpers
import X509

/// The local cloud's device-facing side: devices hold TLS sessions with it (each proving its
/// device id with a certificate from the device authority, the cloud proving itself with one
/// from the cloud authority), and it delivers what `UpdateDelivery` decides over OTA v3: gradual
/// releases at a device's session start, immediate ones to devices online now, held updates
/// announced as pending, forced flags sent down.
public final class DeviceGateway: Sendable {
    /// A transfer the gateway made, for reports and tests.
    public struct Transfer: Hashable, Sendable {
        public enum Outcome: Hashable, Sendable {
            case delivered
            case refused(String)
            case interrupted(String)
        }

        public var deviceID: String
        /// The product version sent; nil for a binary flashed to the device alone.
        public var version: Int?
        public var outcome: Outcome
        public var resumedAt: Int
        public var chunksSent: Int
        public var chunkCount: Int
    }

    public let store: LocalCloudStore
    public let events: EventHub
    public let trust: CloudTrust
    public let sender: CloudUpdateSender
    /// A request unanswered this long ends the session (Device OS gives up after 300 s without a chunk).
    public let requestTimeout: Duration
    /// A connection that has not said hello this long after connecting is closed.
    public let helloTimeout: Duration
    /// What a session's wait for an acknowledgement is timed on.
    let clock: any Clock<Duration>
    let fault: NIOLockedValueBox<(@Sendable (String, Int, inout [UInt8]) -> Void)?> = NIOLockedValueBox(nil)
    let acknowledgementHook: NIOLockedValueBox<(@Sendable (String, CloudTransferAck) -> Void)?> = NIOLockedValueBox(nil)
    let checkpointHook: NIOLockedValueBox<(@Sendable (String, Checkpoint) async -> Void)?> = NIOLockedValueBox(nil)
    private let sessions = NIOLockedValueBox<[String: DeviceSession]>([:])
    private let record = NIOLockedValueBox<[Transfer]>([])
    private let turnedAway = NIOLockedValueBox<[String]>([])
    /// Sessions begun per device (each hello that was accepted), and who waits for the next one.
    private let begun = NIOLockedValueBox<[String: Int]>([:])
    private let sessionWaiters = StateWaiters<[String: Int]>()
    /// Accepted connections not yet taken by `serve` (NIO traps when one of these is dropped
    /// unused, as its server stream does to those still arriving when it closes: the gateway
    /// holds them, and runs to its end any the stream never delivers), the connections being
    /// served, and whether the gateway is stopping.
    private struct Connections {
        var unclaimed: [ObjectIdentifier: NIOAsyncChannel<DeviceMessage, DeviceMessage>] = [:]
        var open: [ObjectIdentifier: any Channel] = [:]
        var stopping = false
    }

    private let connections = NIOLockedValueBox(Connections())
    private let logger: Logger

    public init(store: LocalCloudStore, events: EventHub, trust: CloudTrust, sender: CloudUpdateSender = CloudUpdateSender(),
                requestTimeout: Duration = .seconds(30), helloTimeout: Duration = .seconds(10), clock: any Clock<Duration> = ContinuousClock(),
                logger: Logger = Logger(label: "otabench.cloud.devices")) {
        self.sender = sender
        self.requestTimeout = requestTimeout
        self.helloTimeout = helloTimeout
        self.clock = clock
        self.store = store
        self.events = events
        self.trust = trust
        self.logger = logger
    }

    /// Alters chunks on their way out (a corrupted source), for tests of the device's check.
    public func injectChunkFault(_ fault: (@Sendable (_ device: String, _ index: Int, _ data: inout [UInt8]) -> Void)?) {
        self.fault.withLockedValue { $0 = fault }
    }

    /// Sees each acknowledgement a device sends during a transfer (to cut a transfer at a point
    /// the device has reached), for tests.
    public func watchAcknowledgements(_ hook: (@Sendable (_ device: String, _ ack: CloudTransferAck) -> Void)?) {
        acknowledgementHook.withLockedValue { $0 = hook }
    }

    /// Points in a session's life where a test can hold it, to force an interleaving that load
    /// makes only sometimes.
    enum Checkpoint: Sendable {
        /// A message from the device, read and about to be handled.
        case handling(DeviceMessage)
        /// A new connection of the device said hello and closed its previous session's
        /// connection; it waits for that session to end next.
        case superseding
    }

    /// Holds each session at every `Checkpoint` until `hook` returns, for tests.
    func hold(at hook: (@Sendable (_ device: String, _ point: Checkpoint) async -> Void)?) {
        checkpointHook.withLockedValue { $0 = hook }
    }

    private func pass(_ point: Checkpoint, of device: String) async {
        guard let hook = checkpointHook.withLockedValue({ $0 }) else { return }
        await hook(device, point)
    }

    public var transfers: [Transfer] { record.withLockedValue { $0 } }
    /// Why connections were turned away before a session began (TLS refusals, a certificate
    /// naming another device, an unknown device), oldest first.
    public var refusals: [String] { turnedAway.withLockedValue { $0 } }
    public var onlineDevices: Set<String> { sessions.withLockedValue { Set($0.keys) } }
    /// Sessions a device has begun since the gateway started (each hello that was accepted).
    public func sessionsBegun(_ deviceID: String) -> Int { begun.withLockedValue { $0[deviceID] ?? 0 } }

    /// Returns once the device has begun more than `count` sessions (its hello accepted, online):
    /// at the hello itself, so a loaded machine makes this later, never wrong. Throws
    /// CancellationError when the waiting task is cancelled (a caller's time limit).
    public func waitForSession(_ deviceID: String, beyond count: Int) async throws {
        try await sessionWaiters.wait(until: { $0[deviceID, default: 0] > count }, now: { begun.withLockedValue { $0 } })
    }

    /// Ends a device's session as a dropped connection would.
    public func dropConnection(_ deviceID: String) {
        sessions.withLockedValue { $0[deviceID] }?.close()
    }

    // MARK: Serving

    /// Listens for devices until the task is cancelled. `onRunning` gets the port.
    public func run(host: String = "127.0.0.1", port: Int, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let context = try NIOSSLContext(configuration: try trust.serverConfiguration())
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addDeviceMessageCodec()
                    let connection = try NIOAsyncChannel<DeviceMessage, DeviceMessage>(wrappingChannelSynchronously: channel)
                    let stopping = self.connections.withLockedValue { state in
                        if !state.stopping { state.unclaimed[ObjectIdentifier(channel)] = connection }
                        return state.stopping
                    }
                    if stopping { Self.discard(connection) }
                    return connection
                }
            }
        await onRunning(server.channel.localAddress?.port ?? port)
        // Every accepted connection must be run to its end (NIO traps on one dropped unused), so
        // the accept loop is not cancelled with the caller: a stop closes the listening channel
        // and every connection, and the loop then ends by itself.
        let acceptLoop = Task {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        }
        await withTaskCancellationHandler {
            _ = await acceptLoop.result
        } onCancel: {
            server.channel.close(promise: nil)
            self.closeEveryConnection()
        }
        if Task.isCancelled { return }
        try await acceptLoop.value
    }

    /// The records kept for reports and tests: a cloud that serves for weeks keeps the newest.
    static let recordLimit = 10_000

    static func append<T>(_ item: T, to list: inout [T]) {
        if list.count >= recordLimit { list.removeFirst(list.count - recordLimit + 1) }
        list.append(item)
    }

    /// Stopping: every connection is closed, and any accepted from now on at once.
    private func closeEveryConnection() {
        let (open, unclaimed) = connections.withLockedValue { state in
            state.stopping = true
            defer { state.unclaimed = [:] }
            return (Array(state.open.values), Array(state.unclaimed.values))
        }
        for channel in open { channel.close(promise: nil) }
        for connection in unclaimed { Self.discard(connection) }
        for session in sessions.withLockedValue({ Array($0.values) }) { session.close() }
    }

    /// Runs a connection nobody will serve to its end: closed at once.
    private static func discard(_ connection: NIOAsyncChannel<DeviceMessage, DeviceMessage>) {
        Task { try? await connection.executeThenClose { _, _ in } }
    }

    func serve(_ connection: NIOAsyncChannel<DeviceMessage, DeviceMessage>) async {
        let channel = connection.channel
        let key = ObjectIdentifier(channel)
        // Taken from the unclaimed ones, or already discarded by a stop.
        guard connections.withLockedValue({ state in
            guard state.unclaimed.removeValue(forKey: key) != nil else { return false }
            state.open[key] = channel
            return true
        }) else { return }
        defer { _ = connections.withLockedValue { $0.open.removeValue(forKey: key) } }
        // A peer that never says hello (or never finishes the handshake) is not waited for. On
        // the gateway's clock: a test moves it, so a slow handshake on a busy machine is never
        // taken for silence.
        let clock = self.clock, helloTimeout = self.helloTimeout
        let helloDeadline = Task {
            try await clock.sleep(for: helloTimeout)
            channel.close(promise: nil)
        }
        defer { helloDeadline.cancel() }
        var session: DeviceSession?
        var wentOnline = false
        do {
            try await connection.executeThenClose { inbound, outbound in
                var messages = inbound.makeAsyncIterator()
                guard case .hello(let hello)? = try await messages.next() else {
                    throw DeviceChannelError.protocolViolation("the first message was not a hello")
                }
                helloDeadline.cancel()
                let certified = try await Self.certifiedDeviceID(channel)
                guard certified == hello.deviceID else {
                    throw DeviceChannelError.untrustedPeer("the certificate names device \(certified ?? "none"), the hello \(hello.deviceID)")
                }
                guard let product = try store.product(ofDevice: hello.deviceID) else {
                    throw DeviceChannelError.protocolViolation("device \(hello.deviceID) belongs to no product here")
                }
                let current = DeviceSession(hello: hello, product: product, outbound: outbound, channel: channel, clock: clock)
                session = current
                // Registered at once: a later connection of the device waits for this one in turn,
                // and what the REST side sends the device from now on is queued here.
                if let previous = sessions.withLockedValue({ $0.updateValue(current, forKey: hello.deviceID) }) {
                    // The device holds one connection, so everything it sent on the previous one
                    // came before this hello (the UpdateFinish answer it sent before resetting).
                    // That session ends on what it received, its transfer's outcome and its
                    // offline published, before this one begins. Only its connection is closed
                    // here: failing its waiters from outside would fail an answer already read.
                    previous.closeConnection()
                    await pass(.superseding, of: hello.deviceID)
                    await previous.ended()
                    // Superseded in turn while waiting, or dropped: the device is not on this one.
                    guard !current.isClosed, sessions.withLockedValue({ $0[hello.deviceID] === current }) else { return }
                }
                let delivery = try store.sessionStarted(device: hello.deviceID, firmwareVersion: hello.productVersion, updatesEnabled: hello.updatesEnabled,
                                                        platformID: Int(hello.platformID))
                publish(current, "spark/status", "online")
                wentOnline = true
                // Counted, and its waiters woken, once the session has started and said so: a flash
                // sent by a waiter from here on meets a session that is under way.
                let counts = begun.withLockedValue { counts in
                    counts[hello.deviceID, default: 0] += 1
                    return counts
                }
                sessionWaiters.wake(counts)
                let forced = try store.isForced(device: hello.deviceID)
                if forced != hello.updatesForced { current.enqueue(.event(name: "particle/device/updates/forced", data: forced ? "true" : "false")) }
                current.enqueue(.directFlash)
                current.enqueue(.delivery(delivery))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await self.work(current) }
                    group.addTask { await current.watch(timeout: self.requestTimeout) }
                    // However the loop ends (the device closed, a read failed, a protocol
                    // violation), the session is over now: what waits on it fails at once, not
                    // after its own timer, and nothing can hand it more work.
                    defer {
                        current.close()
                        group.cancelAll()
                    }
                    while let message = try await messages.next() {
                        await self.pass(.handling(message), of: current.deviceID)
                        try self.received(message, in: current)
                    }
                }
            }
        } catch {
            if session == nil {
                let reason = "\(channel.remoteAddress.map { "\($0)" } ?? "a device"): \(error)"
                logger.warning("device connection turned away: \(reason)")
                turnedAway.withLockedValue { Self.append(reason, to: &$0) }
            } else {
                logger.debug("device session ended: \(error)")
            }
        }
        helloDeadline.cancel()
        guard let session else { return }
        session.close()
        sessions.withLockedValue { sessions in
            if sessions[session.deviceID] === session { sessions[session.deviceID] = nil }
        }
        // Every online has its offline, even when a newer connection took over: that one waits
        // for this end before its own online, so the device's events stay in order.
        if wentOnline {
            try? store.sessionEnded(device: session.deviceID)
            publish(session, "spark/status", "offline")
        }
        // Last, on every way out: a newer session of the device begins now.
        session.markEnded()
    }

    static func certifiedDeviceID(_ channel: any Channel) async throws -> String? {
        guard let peer = try await channel.nioSSL_peerCertificate().get() else { return nil }
        return TLSIdentity.commonName(of: try Certificate(derEncoded: try peer.toDERBytes()))
    }

    func received(_ message: DeviceMessage, in session: DeviceSession) throws {
        switch message {
        case .response(let id, let response):
            guard session.resolve(id, response) else { throw DeviceChannelError.protocolViolation("an answer to request \(id), which was not asked") }
        case .event(let name, let data):
            publish(session, name, data)
            if name == "particle/device/updates/enabled" {
                session.enqueue(.delivery(try store.updatesEnabledChanged(device: session.deviceID, enabled: data == "true")))
            }
        case .hello, .request:
            throw DeviceChannelError.protocolViolation("the device sent a cloud's message")
        }
    }

    // MARK: Work

    func work(_ session: DeviceSession) async {
        for await item in session.work {
            // What is left when the session closed stays undone: a direct flash stays in the store
            // for the device's next session instead of being taken and failed here.
            guard !session.isClosed else { break }
            do {
                switch item {
                case .event(let name, let data):
                    try await session.send(.event(name: name, data: data))
                case .delivery(.upToDate):
                    break
                case .delivery(.held(let notify)):
                    if notify {
                        try await session.send(.event(name: "particle/device/updates/pending", data: "true"))
                        publish(session, "particle/device/updates/pending", "true")
                    }
                case .delivery(.deliver(let version, _)):
                    try await transfer(try store.binary(product: session.product, version: version), version: version, to: session)
                case .directFlash:
                    guard let binary = try store.takeDirectFlash(device: session.deviceID) else { break }
                    try await transfer(binary, version: nil, to: session)
                }
            } catch {
                logger.debug("work for \(session.deviceID) failed: \(error)")
            }
        }
    }

    func transfer(_ binary: [UInt8], version: Int?, to session: DeviceSession) async throws {
        let link = RemoteDeviceLink(session: session, fault: fault.withLockedValue { $0 }, acknowledged: acknowledgementHook.withLockedValue { $0 })
        let chunkCount = (binary.count + sender.chunkSize - 1) / sender.chunkSize
        if version != nil { publish(session, "spark/flash/status", FlashStatus.started) }
        var entry = Transfer(deviceID: session.deviceID, version: version, outcome: .delivered, resumedAt: 0, chunksSent: 0, chunkCount: chunkCount)
        do {
            let stats = try await sender.send(binary, over: link)
            entry.resumedAt = stats.resumedAt
            entry.chunksSent = stats.chunksSent
            publish(session, "spark/flash/status", FlashStatus.success)
        } catch let refusal as DeviceRefusal {
            entry.outcome = .refused(refusal.reason)
            publish(session, "spark/flash/status", FlashStatus.failed)
        } catch {
            entry.outcome = .interrupted("\(error)")
            publish(session, "spark/flash/status", FlashStatus.failed)
        }
        record.withLockedValue { Self.append(entry, to: &$0) }
    }

    func publish(_ session: DeviceSession, _ name: String, _ data: String) {
        events.publish(product: session.product, CloudEvent(name: name, data: data, coreid: session.deviceID, publishedAt: store.timestamp()))
    }

    // MARK: What the REST side changed

    /// A release was made: an immediate one reaches online devices now.
    public func released(product: String, _ release: FirmwareRelease) throws {
        for (device, delivery) in try store.immediateDeliveries(product: product, release: release) {
            sessions.withLockedValue { $0[device] }?.enqueue(.delivery(delivery))
        }
    }

    /// The cloud now forces (or stops forcing) updates on a device.
    public func forcedChanged(device: String, forced: Bool) throws {
        guard let session = sessions.withLockedValue({ $0[device] }) else { return }
        session.enqueue(.event(name: "particle/device/updates/forced", data: forced ? "true" : "false"))
        session.enqueue(.delivery(try store.currentDelivery(device: device)))
    }

    /// A device was locked to a version with `flash: true`: an online device gets it now (any
    /// other lock waits for the device's next session).
    public func desiredChanged(device: String) throws {
        guard let session = sessions.withLockedValue({ $0[device] }) else { return }
        session.enqueue(.delivery(try store.currentDelivery(device: device)))
    }

    /// A binary was flashed to one device: an online device gets it now.
    public func flashRequested(device: String) {
        sessions.withLockedValue { $0[device] }?.enqueue(.directFlash)
    }
}

/// `spark/flash/status` data as Particle's cloud sends it: the word and a trailing space
/// (docs, "Firmware update events"); clients that compare exactly would trip on it.
enum FlashStatus {
    static let started = "started "
    static let success = "success "
    static let failed = "failed "
}
