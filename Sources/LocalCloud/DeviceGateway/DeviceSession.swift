import CloudOTA
import Links
import NIOCore
import NIOConcurrencyHelpers

/// One device's open session on the gateway: requests to it with their answers, and the work
/// the cloud has for it, done one item at a time (a transfer, an event to send).
final class DeviceSession: Sendable {
    enum Work: Sendable {
        case delivery(UpdateDelivery)
        case directFlash
        case event(name: String, data: String)
    }

    private enum Slot {
        /// A chunk posted without waiting: its answer goes to the acknowledgement queue.
        case posted(since: Duration)
        case sent(since: Duration)
        case answered(DeviceResponse)
        case waiting(CheckedContinuation<DeviceResponse, any Error>, since: Duration)
    }

    private struct State {
        var nextID: UInt32 = 0
        var slots: [UInt32: Slot] = [:]
        var closed = false
        /// Answers to posted chunks not read yet, and who waits for the next one.
        var acknowledgements: [DeviceResponse] = []
        var waiter: (token: UInt64, continuation: CheckedContinuation<DeviceResponse?, any Error>)?
        var nextToken: UInt64 = 0
        /// A wait that ended (its timer, its task cancelled) before its waiter was in place: the
        /// waiter takes this instead of waiting.
        var expired: (token: UInt64, result: Result<DeviceResponse?, any Error>)?
        /// The newest posted request an acknowledgement answered: acknowledgements are cumulative,
        /// so a late one for an id at or below it says nothing new.
        var acknowledgedThrough: UInt32 = 0
        /// The gateway is done with the session (its work over, its end published), and who
        /// waits for that: the device's next session.
        var ended = false
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// What an answer to a posted request does.
    private enum PostedAnswer {
        /// `id` was not posted (or was a request that is waited for).
        case notPosted
        /// A later acknowledgement covered it already.
        case stale
        case queued
        case handed(CheckedContinuation<DeviceResponse?, any Error>)
    }

    let deviceID: String
    let product: String
    let hello: DeviceHello
    private let outbound: NIOAsyncChannelOutboundWriter<DeviceMessage>
    private let channel: any Channel
    /// What the acknowledgement wait's timer and the request timeout run on.
    private let clock: any Clock<Duration>
    private let stopwatch: Stopwatch
    private let state = NIOLockedValueBox(State())
    let work: AsyncStream<Work>
    private let workInput: AsyncStream<Work>.Continuation

    init(hello: DeviceHello, product: String, outbound: NIOAsyncChannelOutboundWriter<DeviceMessage>, channel: any Channel,
         clock: any Clock<Duration> = ContinuousClock()) {
        self.deviceID = hello.deviceID
        self.hello = hello
        self.product = product
        self.outbound = outbound
        self.channel = channel
        self.clock = clock
        self.stopwatch = Stopwatch(clock)
        (work, workInput) = AsyncStream.makeStream(of: Work.self)
    }

    var isClosed: Bool { state.withLockedValue { $0.closed } }

    func enqueue(_ item: Work) { workInput.yield(item) }

    func send(_ message: DeviceMessage) async throws {
        guard !state.withLockedValue({ $0.closed }) else { throw LinkError.disconnected }
        try await outbound.write(message)
    }

    /// Sends a request and waits for its answer; a closed session fails it at once.
    func request(_ request: DeviceRequest) async throws -> DeviceResponse {
        let id: UInt32? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            state.nextID &+= 1
            state.slots[state.nextID] = .sent(since: stopwatch.elapsed)
            return state.nextID
        }
        guard let id else { throw LinkError.disconnected }
        do { try await outbound.write(.request(id: id, request)) } catch {
            _ = state.withLockedValue { $0.slots.removeValue(forKey: id) }
            throw LinkError.disconnected
        }
        return try await withCheckedThrowingContinuation { continuation in
            let early: Result<DeviceResponse, any Error>? = state.withLockedValue { state in
                switch state.slots[id] {
                case .answered(let response):
                    state.slots[id] = nil
                    return .success(response)
                case .sent(let since):
                    state.slots[id] = .waiting(continuation, since: since)
                    return nil
                case .waiting, .posted, nil:
                    return .failure(LinkError.disconnected)
                }
            }
            if let early { continuation.resume(with: early) }
        }
    }

    /// Sends a request without waiting for its answer, which `nextAnswer` returns later.
    func post(_ request: DeviceRequest) async throws {
        let id: UInt32? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            state.nextID &+= 1
            state.slots[state.nextID] = .posted(since: stopwatch.elapsed)
            return state.nextID
        }
        guard let id else { throw LinkError.disconnected }
        do { try await outbound.write(.request(id: id, request)) } catch {
            _ = state.withLockedValue { $0.slots.removeValue(forKey: id) }
            throw LinkError.disconnected
        }
    }

    /// Drops answers to earlier posts (a new transfer starts).
    func forgetPostedAnswers() {
        state.withLockedValue { $0.acknowledgements.removeAll() }
    }

    /// The next answer to a posted request, in arrival order; nil after `timeout` without one.
    /// A cancelled caller stops waiting at once.
    func nextAnswer(within timeout: Duration) async throws -> DeviceResponse? {
        let token = state.withLockedValue { state in
            state.nextToken += 1
            return state.nextToken
        }
        let clock = self.clock
        return try await withThrowingTaskGroup(of: Void.self, returning: DeviceResponse?.self) { group in
            // The timer is this call's child: it ends with the call, so no sleeping task outlives
            // the wait (nor the session) to fire into a later one.
            group.addTask {
                do { try await clock.sleep(for: timeout) } catch { return }
                self.endWait(token, with: .success(nil))
            }
            defer { group.cancelAll() }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<DeviceResponse?, any Error>) in
                    let ready: Result<DeviceResponse?, any Error>? = state.withLockedValue { state in
                        if !state.acknowledgements.isEmpty { return .success(state.acknowledgements.removeFirst()) }
                        if state.closed { return .failure(LinkError.disconnected) }
                        if let expired = state.expired, expired.token == token {
                            state.expired = nil
                            return expired.result
                        }
                        state.waiter = (token, continuation)
                        return nil
                    }
                    if let ready { continuation.resume(with: ready) }
                }
            } onCancel: {
                self.endWait(token, with: .failure(CancellationError()))
            }
        }
    }

    /// Ends wait `token` without an answer. A waiter not in place yet finds the result when it
    /// comes; a wait already answered is left alone.
    private func endWait(_ token: UInt64, with result: Result<DeviceResponse?, any Error>) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<DeviceResponse?, any Error>? in
            guard let waiter = state.waiter, waiter.token == token else {
                // Only the newest wait can still be waiting to begin; an older one is over.
                if token == state.nextToken { state.expired = (token, result) }
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(with: result)
    }

    /// The device's answer to request `id`. False for an id nobody asked.
    func resolve(_ id: UInt32, _ response: DeviceResponse) -> Bool {
        switch resolvePosted(id, response) {
        case .notPosted: break
        case .stale, .queued: return true
        case .handed(let waiter):
            waiter.resume(returning: response)
            return true
        }
        let waiting: CheckedContinuation<DeviceResponse, any Error>?? = state.withLockedValue { state in
            switch state.slots[id] {
            case .sent:
                state.slots[id] = .answered(response)
                return .some(nil)
            case .waiting(let continuation, _):
                state.slots[id] = nil
                return .some(continuation)
            case .answered, .posted, nil:
                return nil
            }
        }
        guard let waiting else { return false }
        waiting?.resume(returning: response)
        return true
    }

    /// An answer to a posted request: handed to whoever waits for one, or queued; the caller
    /// resumes a waiter it is handed.
    private func resolvePosted(_ id: UInt32, _ response: DeviceResponse) -> PostedAnswer {
        state.withLockedValue { state -> PostedAnswer in
            switch state.slots[id] {
            case .posted:
                break
            case nil:
                // Answered already by a later acknowledgement that covered it (it overtook this
                // one on the way): nothing new, and no reason to end the session.
                if case .acknowledged = response, id <= state.acknowledgedThrough { return .stale }
                return .notPosted
            case .sent, .answered, .waiting:
                return .notPosted
            }
            state.slots[id] = nil
            // An acknowledgement is cumulative: the device answers the newest chunk of a batch,
            // and the chunks posted before it are answered with it.
            if case .acknowledged = response {
                state.acknowledgedThrough = max(state.acknowledgedThrough, id)
                for (earlier, slot) in state.slots where earlier < id {
                    if case .posted = slot { state.slots[earlier] = nil }
                }
            }
            if let waiter = state.waiter {
                state.waiter = nil
                return .handed(waiter.continuation)
            }
            state.acknowledgements.append(response)
            return .queued
        }
    }

    /// The session is over: what waits fails as disconnected, the work queue ends.
    func close() {
        let waiting = state.withLockedValue { state in
            state.closed = true
            let waiting = state.slots.values.compactMap { slot -> CheckedContinuation<DeviceResponse, any Error>? in
                if case .waiting(let continuation, _) = slot { return continuation } else { return nil }
            }
            state.slots = [:]
            let answerWaiter = state.waiter?.continuation
            state.waiter = nil
            return (waiting, answerWaiter)
        }
        for continuation in waiting.0 { continuation.resume(throwing: LinkError.disconnected) }
        waiting.1?.resume(throwing: LinkError.disconnected)
        workInput.finish()
        channel.close(promise: nil)
    }

    /// Closes the connection only: what was read from it already is still handled by the
    /// session's loop, which then closes the session itself (failing only what is unanswered).
    func closeConnection() {
        channel.close(promise: nil)
    }

    /// The gateway is done with the session: its work ended, its outcome and offline published.
    func markEnded() {
        let waiters = state.withLockedValue { state in
            state.ended = true
            defer { state.endWaiters = [] }
            return state.endWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `markEnded` was called.
    func ended() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { state in
                if state.ended { return true }
                state.endWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Closes the session when a request has gone unanswered for `timeout`.
    func watch(timeout: Duration) async {
        while !Task.isCancelled {
            try? await clock.sleep(for: .milliseconds(500))
            let now = stopwatch.elapsed
            let overdue = state.withLockedValue { state in
                state.slots.values.contains { slot in
                    switch slot {
                    case .sent(let since), .waiting(_, let since), .posted(let since): now - since > timeout
                    case .answered: false
                    }
                }
            }
            if overdue {
                close()
                return
            }
        }
    }
}

/// The device refused a request: updates disabled, a SHA-256 mismatch, a bad chunk…
public struct DeviceRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "the device refused: \(reason)" }
}

/// OTA v3's calls, made to a remote device over its session; chunks are pipelined.
struct RemoteDeviceLink: PipelinedCloudUpdateLink {
    let session: DeviceSession
    /// Alters a chunk on its way out: a fault at the source, for tests.
    let fault: (@Sendable (_ device: String, _ index: Int, _ data: inout [UInt8]) -> Void)?
    /// Sees each acknowledgement as it arrives, for tests.
    let acknowledged: (@Sendable (_ device: String, _ ack: CloudTransferAck) -> Void)?

    func post(index: Int, data: [UInt8]) async throws {
        var data = data
        fault?(session.deviceID, index, &data)
        try await session.post(.updateChunk(index: index, data: data))
    }

    func nextAcknowledgement(within timeout: Duration) async throws -> CloudTransferAck? {
        switch try await session.nextAnswer(within: timeout) {
        case nil: return nil
        case .acknowledged(let upTo, let selective)?:
            let ack = CloudTransferAck(upTo: upTo, selective: selective)
            acknowledged?(session.deviceID, ack)
            return ack
        case .refused(let reason)?: throw DeviceRefusal(reason: reason)
        case let other?: throw DeviceChannelError.protocolViolation("answered UpdateChunk with \(other)")
        }
    }

    func start(size: Int, sha256: [UInt8], chunkSize: Int) async throws -> Int {
        session.forgetPostedAnswers()
        switch try await session.request(.updateStart(size: size, sha256: sha256, chunkSize: chunkSize)) {
        case .started(let offset): return offset
        case .refused(let reason): throw DeviceRefusal(reason: reason)
        case let other: throw DeviceChannelError.protocolViolation("answered UpdateStart with \(other)")
        }
    }

    func chunk(index: Int, data: [UInt8]) async throws -> CloudTransferAck {
        var data = data
        fault?(session.deviceID, index, &data)
        switch try await session.request(.updateChunk(index: index, data: data)) {
        case .acknowledged(let upTo, let selective): return CloudTransferAck(upTo: upTo, selective: selective)
        case .refused(let reason): throw DeviceRefusal(reason: reason)
        case let other: throw DeviceChannelError.protocolViolation("answered UpdateChunk with \(other)")
        }
    }

    func finish(cancel: Bool) async throws {
        switch try await session.request(.updateFinish(cancel: cancel)) {
        case .finished: return
        case .refused(let reason): if !cancel { throw DeviceRefusal(reason: reason) }
        case let other: throw DeviceChannelError.protocolViolation("answered UpdateFinish with \(other)")
        }
    }
}
