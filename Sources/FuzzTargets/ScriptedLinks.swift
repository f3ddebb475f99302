import Links
import NIOConcurrencyHelpers

/// A serial line whose far end plays a script from the fuzz input: `initial` is there to read
/// from the start, and with `answers` each write (a command) makes the next answer readable.
/// Reads never wait: they give the next piece of at most `chunkSize` bytes, or nothing, as a
/// read that timed out does. More than `silenceLimit` empty reads in a row, with no write
/// between them, throw `LinkError.timedOut` (and start the count again); past `readLimit`
/// reads every read throws `LinkError.disconnected`. So a client that waits for more, or
/// retries, ends once the script is used up.
final class ScriptedByteStream: ByteStream {
    private struct State {
        var readable: [UInt8]
        var answers: [[UInt8]]
        var silentReads = 0
        var reads = 0
        var closed = false
    }

    private let state: NIOLockedValueBox<State>
    private let chunkSize: Int
    private let silenceLimit: Int
    private let readLimit: Int

    init(initial: [UInt8], answers: [[UInt8]] = [], chunkSize: Int, silenceLimit: Int, readLimit: Int) {
        state = NIOLockedValueBox(State(readable: initial, answers: answers))
        self.chunkSize = max(1, chunkSize)
        self.silenceLimit = silenceLimit
        self.readLimit = readLimit
    }

    func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let outcome = state.withLockedValue { state -> Result<[UInt8], LinkError> in
            if state.closed { return .failure(.disconnected) }
            state.reads += 1
            if state.reads > readLimit { return .failure(.disconnected) }
            let count = min(maximum, chunkSize, state.readable.count)
            if count > 0 {
                let piece = Array(state.readable.prefix(count))
                state.readable.removeFirst(count)
                state.silentReads = 0
                return .success(piece)
            }
            state.silentReads += 1
            if state.silentReads > silenceLimit {
                state.silentReads = 0
                return .failure(.timedOut)
            }
            return .success([])
        }
        return try outcome.get()
    }

    func write(_ bytes: [UInt8]) async throws {
        let closed = state.withLockedValue { state -> Bool in
            if state.closed { return true }
            state.silentReads = 0
            if !state.answers.isEmpty { state.readable += state.answers.removeFirst() }
            return false
        }
        if closed { throw LinkError.disconnected }
    }

    func close() async {
        state.withLockedValue { $0.closed = true }
    }
}

/// USB endpoint 0 of a device that answers from a script, in order, whatever is asked:
///
/// - a control IN transfer takes one header byte: 0xF0…0xFF make the transfer fail (stall,
///   timeout, disconnect, other error, by the low two bits); any other value is the length
///   of the reply that follows in the script, cut to what the setup packet asked for;
/// - a control OUT transfer takes one header byte: 0xF0…0xFF fail as above, anything else
///   accepts the data.
///
/// Once the script is used up every transfer fails with `LinkError.disconnected`, so a host
/// that polls or retries ends with it. The transfers that succeeded are kept, in order.
final class ScriptedControlPipe: ControlPipe {
    struct Transfer: Hashable, Sendable {
        var setup: ControlSetup
        /// The reply of an IN transfer, the data of an OUT transfer.
        var data: [UInt8]
        var isIn: Bool
    }

    private struct State {
        var script: FuzzReader
        var transfers: [Transfer] = []
    }

    private let state: NIOLockedValueBox<State>

    init(script: [UInt8]) {
        state = NIOLockedValueBox(State(script: FuzzReader(script)))
    }

    var transfers: [Transfer] { state.withLockedValue { $0.transfers } }

    func controlIn(_ setup: ControlSetup, timeout: Duration) async throws -> [UInt8] {
        let outcome = state.withLockedValue { state -> Result<[UInt8], LinkError> in
            guard let header = state.script.byte() else { return .failure(.disconnected) }
            if let failure = Self.failure(header) { return .failure(failure) }
            let reply = Array(state.script.take(Int(header)).prefix(Int(setup.length)))
            state.transfers.append(Transfer(setup: setup, data: reply, isIn: true))
            return .success(reply)
        }
        return try outcome.get()
    }

    func controlOut(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws {
        let outcome = state.withLockedValue { state -> Result<Void, LinkError> in
            guard let header = state.script.byte() else { return .failure(.disconnected) }
            if let failure = Self.failure(header) { return .failure(failure) }
            state.transfers.append(Transfer(setup: setup, data: data, isIn: false))
            return .success(())
        }
        try outcome.get()
    }

    static func failure(_ header: UInt8) -> LinkError? {
        guard header >= 0xF0 else { return nil }
        switch header & 0x03 {
        case 0: return .stalled
        case 1: return .timedOut
        case 2: return .disconnected
        default: return .other("the scripted device failed the transfer")
        }
    }
}
