/// A YMODEM batch sender for one file: block 0 with name and size, 1 KiB data blocks with
/// CRC-16, EOT, and the empty block 0 that ends the batch. Free of I/O like the receiver.
public struct YModemSender: Sendable {
    public enum Event: Hashable, Sendable {
        case progress(sent: Int, total: Int)
        case finished
        /// CAN CAN answered the closing empty block 0: the file arrived whole and the receiver
        /// refused it (Device OS: "Validation failed: …" follows, the caller's to read).
        case refusedAtClose
        case aborted(String)
    }

    /// When block 0 and the closing block go out.
    public enum Start: Hashable, Sendable {
        /// When the receiver asks with `C`, as lrzsz's rb does at once and after the EOT.
        case onRequest
        /// At once, and the closing block right after the EOT's ACK: Device OS's listening-mode
        /// receiver sends no `C` until its 5 s timeout, and particle-cli sent block 0 straight
        /// after the prompt (src/lib/ymodem.js at 677647c6^, :103-137).
        case atOnce
    }

    public struct Output: Hashable, Sendable {
        public var send: [UInt8] = []
        public var events: [Event] = []
        /// How many of the bytes given the sender read: after its end, the rest are the
        /// receiver's words for the caller (a board's reason after its CANs).
        public var consumed = 0
    }

    enum State: Hashable, Sendable {
        case waitingForStart
        case waitingForHeaderAck
        case waitingForDataStart
        case waitingForBlockAck(Int)
        case waitingForEndAck(attempt: Int)
        case waitingForFinalStart
        case waitingForFinalAck
        case finished
        case aborted
    }

    public let name: String
    public let data: [UInt8]
    public let blockSize: Int
    public let maximumRetries: Int
    public let start: Start
    private(set) var state: State = .waitingForStart
    private var retries = 0
    private var cancelSeen = false

    public init(name: String, data: [UInt8], blockSize: Int = 1024, maximumRetries: Int = 10, start: Start = .onRequest) {
        self.name = name
        self.data = data
        self.blockSize = blockSize == 128 ? 128 : 1024
        self.maximumRetries = maximumRetries
        self.start = start
    }

    /// What goes out before the receiver says anything: block 0, when starting `.atOnce`.
    public mutating func begin() -> Output {
        guard start == .atOnce, state == .waitingForStart else { return Output() }
        state = .waitingForHeaderAck
        return Output(send: headerBlock())
    }

    public var isDone: Bool { state == .finished || state == .aborted }
    /// The closing empty header is out and its ACK awaited.
    public var isClosing: Bool { state == .waitingForFinalAck }
    /// The closing empty header again, while its ACK is awaited: for a receiver that may have
    /// emptied its input just after asking for it (lrzsz's rb, see `YModemTransfer.send`).
    public var closingBlock: [UInt8]? { isClosing ? endOfBatchBlock() : nil }
    var blockCount: Int { (data.count + blockSize - 1) / blockSize }

    public mutating func receive(_ bytes: [UInt8]) -> Output {
        var output = Output()
        for byte in bytes where !isDone {
            output.consumed += 1
            if byte == YModemControl.can {
                if cancelSeen {
                    if state == .waitingForFinalAck {
                        state = .finished
                        output.events.append(.refusedAtClose)
                        return output
                    }
                    state = .aborted
                    output.events.append(.aborted("the receiver cancelled"))
                    return output
                }
                cancelSeen = true
                continue
            }
            cancelSeen = false
            handle(byte, into: &output)
        }
        return output
    }

    /// The receiver went quiet: send the last thing again, or give up.
    public mutating func timedOut() -> Output {
        guard !isDone else { return Output() }
        if state == .waitingForFinalAck {
            // The file itself was acknowledged at EOT; the empty header only closes the batch.
            // A receiver that exits or resets right after may take that last ACK with it:
            // lrzsz flushes its tty on the way out (on a pseudo-terminal that discards what
            // the sender had not read yet), a Gen 2 board restarts to apply the update.
            state = .finished
            return Output(events: [.finished])
        }
        retries += 1
        if retries > maximumRetries {
            state = .aborted
            return Output(send: Array(repeating: YModemControl.can, count: 5), events: [.aborted("timed out waiting for the receiver")])
        }
        var output = Output()
        switch state {
        case .waitingForHeaderAck: output.send = headerBlock()
        case .waitingForBlockAck(let index): output.send = dataBlock(index)
        case .waitingForEndAck: output.send = [YModemControl.eot]
        case .waitingForFinalAck: output.send = endOfBatchBlock()
        default: break
        }
        return output
    }

    public mutating func cancel(_ reason: String) -> Output {
        state = .aborted
        return Output(send: Array(repeating: YModemControl.can, count: 5), events: [.aborted(reason)])
    }

    private mutating func handle(_ byte: UInt8, into output: inout Output) {
        switch (state, byte) {
        case (.waitingForStart, YModemControl.crcRequest):
            retries = 0
            state = .waitingForHeaderAck
            output.send += headerBlock()
        case (.waitingForHeaderAck, YModemControl.ack):
            retries = 0
            state = .waitingForDataStart
        case (.waitingForHeaderAck, YModemControl.nak), (.waitingForHeaderAck, YModemControl.crcRequest):
            resend(headerBlock(), into: &output)
        case (.waitingForDataStart, YModemControl.crcRequest):
            retries = 0
            if blockCount == 0 {
                state = .waitingForEndAck(attempt: 1)
                output.send.append(YModemControl.eot)
            } else {
                state = .waitingForBlockAck(0)
                output.send += dataBlock(0)
            }
        case (.waitingForBlockAck(let index), YModemControl.ack):
            retries = 0
            output.events.append(.progress(sent: min((index + 1) * blockSize, data.count), total: data.count))
            if index + 1 < blockCount {
                state = .waitingForBlockAck(index + 1)
                output.send += dataBlock(index + 1)
            } else {
                state = .waitingForEndAck(attempt: 1)
                output.send.append(YModemControl.eot)
            }
        case (.waitingForBlockAck(let index), YModemControl.nak), (.waitingForBlockAck(let index), YModemControl.crcRequest):
            // Device OS answers a damaged block with `C`, not NAK: lrzsz resends on either.
            resend(dataBlock(index), into: &output)
        case (.waitingForEndAck(let attempt), YModemControl.nak), (.waitingForEndAck(let attempt), YModemControl.crcRequest):
            // rb NAKs the first EOT on purpose; send it again (a `C` here: the EOT was lost).
            guard attempt <= maximumRetries else { return abort("the receiver never acknowledged the end of the file", into: &output) }
            state = .waitingForEndAck(attempt: attempt + 1)
            output.send.append(YModemControl.eot)
        case (.waitingForEndAck, YModemControl.ack) where start == .atOnce:
            // Device OS ACKs the first EOT and waits for block 0 without asking.
            state = .waitingForFinalAck
            output.send += endOfBatchBlock()
        case (.waitingForEndAck, YModemControl.ack):
            state = .waitingForFinalStart
        case (.waitingForFinalStart, YModemControl.crcRequest):
            state = .waitingForFinalAck
            output.send += endOfBatchBlock()
        case (.waitingForFinalAck, YModemControl.ack):
            state = .finished
            output.events.append(.finished)
        case (.waitingForFinalAck, YModemControl.crcRequest), (.waitingForFinalAck, YModemControl.nak):
            // The receiver missed the closing header and asks for it again.
            resend(endOfBatchBlock(), into: &output)
        default:
            break  // text and noise between packets (a prompt, a repeated "C")
        }
    }

    private mutating func resend(_ packet: [UInt8], into output: inout Output) {
        retries += 1
        if retries > maximumRetries { return abort("too many retries", into: &output) }
        output.send += packet
    }

    private mutating func abort(_ reason: String, into output: inout Output) {
        state = .aborted
        output.send += Array(repeating: YModemControl.can, count: 5)
        output.events.append(.aborted(reason))
    }

    private func headerBlock() -> [UInt8] {
        let info = Array(name.utf8) + [0] + Array("\(data.count)".utf8)
        return Self.packet(sequence: 0, payload: info, size: 128, padding: 0)
    }

    private func endOfBatchBlock() -> [UInt8] {
        Self.packet(sequence: 0, payload: [], size: 128, padding: 0)
    }

    private func dataBlock(_ index: Int) -> [UInt8] {
        let start = index * blockSize
        let chunk = Array(data[start..<min(start + blockSize, data.count)])
        return Self.packet(sequence: UInt8(truncatingIfNeeded: index + 1), payload: chunk, size: blockSize, padding: YModemControl.padding)
    }

    static func packet(sequence: UInt8, payload: [UInt8], size: Int, padding: UInt8) -> [UInt8] {
        let body = Array(payload.prefix(size)) + Array(repeating: padding, count: max(0, size - payload.count))
        let crc = CRC16.checksum(body)
        return [size == 1024 ? YModemControl.stx : YModemControl.soh, sequence, ~sequence] + body + [UInt8(crc >> 8), UInt8(crc & 0xFF)]
    }
}
