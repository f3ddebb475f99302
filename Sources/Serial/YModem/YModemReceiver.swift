/// A YMODEM batch receiver with CRC-16 and 1 KiB blocks, kept free of I/O: bytes in, the
/// bytes to answer and what happened out. A serial port drives it on the host; an emulated
/// Gen 2 board drives it for its listening-mode `f` command.
public struct YModemReceiver: Sendable {
    public enum Event: Hashable, Sendable {
        /// Block 0 named a file (and usually its size). The same header again in the middle of
        /// that file is the sender starting the file over: what arrived of it so far is void.
        case fileStarted(name: String, size: Int?)
        /// File data in order, with the last block's padding removed when the size is known.
        case data([UInt8])
        case fileFinished
        /// The empty block 0 that ends the batch arrived: the session is over.
        case batchFinished
        case aborted(String)
    }

    public struct Output: Hashable, Sendable {
        /// What to send back to the sender.
        public var reply: [UInt8] = []
        public var events: [Event] = []
    }

    public enum State: Hashable, Sendable {
        case awaitingHeader
        case receiving(nextBlock: UInt8)
        case finished
        case aborted
    }

    public private(set) var state: State = .awaitingHeader
    /// The header block of the file being received, to recognise a sender that starts it over.
    private var currentHeader: [UInt8]?
    public let maximumRetries: Int
    /// Refuse files larger than this (nil: no limit).
    public let maximumFileSize: Int?
    private var buffer: [UInt8] = []
    private var retries = 0
    private var remaining: Int?
    private var endOfTransmissionSeen = false
    /// File bytes taken so far: the limit holds when the header gives no size, or a lie.
    private var receivedCount = 0
    private var cancelSeen = false
    private var garbage = 0

    public init(maximumRetries: Int = 10, maximumFileSize: Int? = nil) {
        self.maximumRetries = maximumRetries
        self.maximumFileSize = maximumFileSize
    }

    public var isDone: Bool { state == .finished || state == .aborted }

    /// The first byte to send: ask for CRC-16 blocks.
    public func start() -> [UInt8] { [YModemControl.crcRequest] }

    /// Gives up: what to send so the sender stops too.
    public mutating func cancel(_ reason: String) -> Output {
        state = .aborted
        buffer.removeAll()
        return Output(reply: Array(repeating: YModemControl.can, count: 5), events: [.aborted(reason)])
    }

    /// Nothing arrived in time: ask again, or give up after `maximumRetries`.
    public mutating func timedOut() -> Output {
        guard !isDone else { return Output() }
        retries += 1
        if retries > maximumRetries { return cancel("timed out waiting for the sender") }
        buffer.removeAll()
        if case .awaitingHeader = state { return Output(reply: [YModemControl.crcRequest]) }
        return Output(reply: [YModemControl.nak])
    }

    public mutating func receive(_ bytes: [UInt8]) -> Output {
        var output = Output()
        guard !isDone else { return output }
        buffer += bytes
        // Taken bytes are dropped once, at the end: dropping each from the front of the array
        // made a line of noise cost the square of its length.
        var taken = 0
        defer { if !buffer.isEmpty { buffer.removeFirst(min(taken, buffer.count)) } }
        while taken < buffer.count, !isDone {
            let lead = buffer[taken]
            switch lead {
            case YModemControl.soh, YModemControl.stx:
                cancelSeen = false
                let payloadSize = lead == YModemControl.soh ? 128 : 1024
                let total = 3 + payloadSize + 2
                guard buffer.count - taken >= total else { return output }
                let block = Array(buffer[taken..<(taken + total)])
                taken += total
                handleBlock(block, payloadSize: payloadSize, into: &output)
            case YModemControl.eot:
                taken += 1
                handleEndOfTransmission(into: &output)
            case YModemControl.can:
                taken += 1
                if cancelSeen {
                    state = .aborted
                    output.events.append(.aborted("the sender cancelled"))
                    return output
                }
                cancelSeen = true
            default:
                // Line noise between blocks: skip it, but not forever.
                taken += 1
                garbage += 1
                if garbage > 4096 {
                    let cancelled = cancel("too much garbage on the line")
                    output.reply += cancelled.reply
                    output.events += cancelled.events
                    return output
                }
            }
        }
        return output
    }

    private mutating func handleBlock(_ block: [UInt8], payloadSize: Int, into output: inout Output) {
        let sequence = block[1]
        let payload = block[3..<(3 + payloadSize)]
        let crc = UInt16(block[3 + payloadSize]) << 8 | UInt16(block[4 + payloadSize])
        guard sequence == ~block[2], CRC16.checksum(payload) == crc else {
            return reject(into: &output)
        }
        retries = 0
        switch state {
        case .awaitingHeader:
            guard sequence == 0 else {
                return reject(into: &output)
            }
            let nameEnd = payload.firstIndex(of: 0) ?? payload.endIndex
            let name = String(decoding: payload[payload.startIndex..<nameEnd], as: UTF8.self)
            if name.isEmpty {
                output.reply.append(YModemControl.ack)
                output.events.append(.batchFinished)
                state = .finished
                return
            }
            let sizeField = payload[(nameEnd < payload.endIndex ? nameEnd + 1 : nameEnd)...].prefix { $0 >= 0x30 && $0 <= 0x39 }
            // More digits than an Int holds is a size no limit allows.
            let size = sizeField.isEmpty ? nil : Int(String(decoding: sizeField, as: UTF8.self)) ?? Int.max
            if let size, let limit = maximumFileSize, size > limit {
                let shown = size == Int.max ? "\(sizeField.count) digits long" : "\(size) bytes"
                let cancelled = cancel("\(name) is \(shown), more than the \(limit) bytes this receiver takes")
                output.reply += cancelled.reply
                output.events += cancelled.events
                return
            }
            remaining = size
            receivedCount = 0
            endOfTransmissionSeen = false
            currentHeader = Array(payload)
            output.events.append(.fileStarted(name: name, size: size))
            output.reply += [YModemControl.ack, YModemControl.crcRequest]
            state = .receiving(nextBlock: 1)
        case .receiving(let next):
            if sequence == next {
                var data = Array(payload)
                if let left = remaining {
                    data = Array(data.prefix(left))
                    remaining = left - data.count
                }
                receivedCount += data.count
                if let limit = maximumFileSize, receivedCount > limit {
                    let cancelled = cancel("the file runs past the \(limit) bytes this receiver takes")
                    output.reply += cancelled.reply
                    output.events += cancelled.events
                    return
                }
                if !data.isEmpty { output.events.append(.data(data)) }
                output.reply.append(YModemControl.ack)
                state = .receiving(nextBlock: next &+ 1)
            } else if sequence == next &- 1 || (next == 1 && sequence == 0) {
                output.reply.append(YModemControl.ack)  // our ACK was lost: a repeat
            } else if sequence == 0, let currentHeader, Self.sameFile(Array(payload), currentHeader) {
                // lrzsz's sb goes back to the header after a long silence (a stalled host):
                // the same file from the start, as rb takes it. Same name and size: the rest of
                // the header (modification time, mode, padding) may be sent differently.
                state = .awaitingHeader
                handleBlock(block, payloadSize: payloadSize, into: &output)
            } else {
                // Name what came, so a sender that announced another file can be told from noise.
                let announced = sequence == 0 ? " (a header for \(Self.describeHeader(Array(payload))))" : ""
                let cancelled = cancel("block \(sequence) arrived where block \(next) was due\(announced)")
                output.reply += cancelled.reply
                output.events += cancelled.events
            }
        case .finished, .aborted:
            break
        }
    }

    static func describeHeader(_ header: [UInt8]) -> String {
        let nameEnd = header.firstIndex(of: 0) ?? header.endIndex
        let rest = header[(nameEnd < header.endIndex ? nameEnd + 1 : nameEnd)...].prefix { $0 != 0 }
        return "\"\(String(decoding: header[..<nameEnd], as: UTF8.self))\" \(String(decoding: rest.prefix(60), as: UTF8.self))"
    }

    /// Whether two header blocks announce the same file: the name, and the size when given.
    static func sameFile(_ header: [UInt8], _ other: [UInt8]) -> Bool {
        func fields(_ bytes: [UInt8]) -> (name: ArraySlice<UInt8>, size: ArraySlice<UInt8>) {
            let nameEnd = bytes.firstIndex(of: 0) ?? bytes.endIndex
            let rest = bytes[(nameEnd < bytes.endIndex ? nameEnd + 1 : nameEnd)...]
            return (bytes[..<nameEnd], rest.prefix { $0 >= 0x30 && $0 <= 0x39 })
        }
        let (a, b) = (fields(header), fields(other))
        return !a.name.isEmpty && a.name == b.name && a.size == b.size
    }

    private mutating func handleEndOfTransmission(into output: inout Output) {
        guard case .receiving = state else {
            output.reply.append(YModemControl.ack)  // a repeated EOT after we finished the file
            return
        }
        // NAK the first EOT, ACK the second: the usual guard against a corrupted EOT.
        if !endOfTransmissionSeen {
            endOfTransmissionSeen = true
            output.reply.append(YModemControl.nak)
            return
        }
        if let left = remaining, left > 0 {
            let cancelled = cancel("the file ended \(left) bytes short of its announced size")
            output.reply += cancelled.reply
            output.events += cancelled.events
            return
        }
        output.reply += [YModemControl.ack, YModemControl.crcRequest]
        output.events.append(.fileFinished)
        state = .awaitingHeader
    }

    private mutating func reject(into output: inout Output) {
        retries += 1
        if retries > maximumRetries {
            let cancelled = cancel("too many damaged blocks")
            output.reply += cancelled.reply
            output.events += cancelled.events
            return
        }
        output.reply.append(YModemControl.nak)
    }
}
