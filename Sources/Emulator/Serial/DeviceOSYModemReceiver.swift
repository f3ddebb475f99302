import Serial

/// Device OS's own YMODEM receiver, the one listening mode runs before 6.0.0: a port of
/// `YModem::receive_packet`, `handle_packet` and `receive_file` (system/src/system_ymodem.cpp
/// :101-293 in v5.9.0; the same from v2.0.0 to v5.9.0, and in v1.5.2). It is not a textbook
/// receiver, and hosts are written against what it does, so the emulator does exactly that:
///
/// - it sends no `C` of its own: one goes out only when 5 s pass without a byte
///   (`receive_byte`'s timeout applies to every byte, inside a packet too);
/// - it ACKs every EOT, the first included, and then expects block 0 again;
/// - it does not answer the closing empty block 0: the board validates the image first, then
///   sends ACK or CAN CAN (`Ymodem_Serial_Flash_Update`, not this type);
/// - it never checks the CRC, only that the sequence number matches its complement;
/// - a block with the wrong sequence number (a duplicate, a skip) gets NAK and is not counted
///   as an error; a damaged block, a timeout and every stray byte get `C` and count one;
///   the sixth error in a row aborts.
///
/// Free of I/O and time: the board feeds it bytes and tells it when 5 s passed. It asks the
/// board to start the update (Spark_Prepare_For_Firmware_Update) and to save a block
/// (Spark_Save_Firmware_Chunk) in the middle of a packet's handling, as the C++ does, through
/// the closure given to `receive`.
public struct DeviceOSYModemReceiver: Hashable, Sendable {
    /// NAK_TIMEOUT (system_ymodem.h:56).
    public static let byteTimeout = Duration.milliseconds(5000)
    /// MAX_ERRORS (system_ymodem.h:54); the check is `errors > MAX_ERRORS`.
    public static let maximumErrors = 5

    /// What the receiver needs the board to do before it can answer a packet.
    public enum Request: Hashable, Sendable {
        /// Block 0 named a file: start the update. The board answers with the length it
        /// prepared for (5.x puts the whole OTA region in for a missing size), or nil when it
        /// refuses (updates disabled, too large, an update already open).
        case prepare(name: String, size: Int)
        /// A data block, its whole 128- or 1024-byte payload, padding included.
        case save([UInt8])
    }

    public enum Answer: Hashable, Sendable {
        case prepared(length: Int)
        case saved
        case failed
    }

    /// How `receive_file` returned, which decides what `Ymodem_Serial_Flash_Update` prints.
    public enum Ending: Hashable, Sendable {
        /// The closing empty block 0 arrived: the file's name and the length `receive_file`
        /// returns (the header's size, as prepared); the board validates next.
        case received(name: String, length: Int)
        /// −1: the board refused to start the update.
        case prepareFailed
        /// −2: the board failed to save a block.
        case saveFailed
        /// −3: `a` or `A` where a packet could start.
        case abortedByUser
        /// 0: the sender cancelled (CAN CAN), or too many errors.
        case failed
    }

    public struct Output: Hashable, Sendable {
        /// The receiver's bytes for the host.
        public var reply: [UInt8] = []
        /// How many of the bytes given were the receiver's: after an ending, the rest go back
        /// to the listening-mode console, as they would on the board.
        public var consumed = 0
        public var ending: Ending?
    }

    /// 128 or 1024 once a packet's first byte came; the packet so far.
    private var packet: [UInt8] = []
    private var packetSize = 0
    /// A CAN came where a packet could start; a second one cancels.
    private var cancelPending = false
    private var packetsReceived = 0
    private var errors = 0
    private var fileName = ""
    private var fileLength = 0
    public private(set) var ending: Ending?

    public init() {}

    /// Feeds host bytes; stops at an ending (see `Output.consumed`).
    public mutating func receive(_ bytes: [UInt8], board: (Request) -> Answer) -> Output {
        var output = Output()
        for byte in bytes {
            guard ending == nil else { break }
            output.consumed += 1
            step(byte, into: &output, board: board)
        }
        output.ending = ending
        return output
    }

    /// 5 s passed without a byte: what was read of a packet is dropped, and the error counted.
    public mutating func timedOut() -> Output {
        guard ending == nil else { return Output() }
        var output = Output()
        packet = []
        cancelPending = false
        error(into: &output)
        output.ending = ending
        return output
    }

    private mutating func step(_ byte: UInt8, into output: inout Output, board: (Request) -> Answer) {
        if cancelPending {
            cancelPending = false
            // Sender abort: handle_packet's length −1 ACKs it and receive_file returns 0.
            guard byte == YModemControl.can else { return error(into: &output) }
            errors = 0
            output.reply.append(YModemControl.ack)
            ending = .failed
            return
        }
        if !packet.isEmpty {
            packet.append(byte)
            guard packet.count == packetSize + Self.overhead else { return }
            let complete = packet
            packet = []
            guard complete[1] == complete[2] ^ 0xFF else { return error(into: &output) }
            errors = 0
            return handle(complete, into: &output, board: board)
        }
        switch byte {
        case YModemControl.soh, YModemControl.stx:
            packetSize = byte == YModemControl.soh ? 128 : 1024
            packet = [byte]
        case YModemControl.eot:
            // ACKed every time; the next block expected is block 0 (the inner loop restarts).
            errors = 0
            output.reply.append(YModemControl.ack)
            packetsReceived = 0
        case YModemControl.can:
            cancelPending = true
        case UInt8(ascii: "A"), UInt8(ascii: "a"):
            output.reply += [YModemControl.can, YModemControl.can]
            ending = .abortedByUser
        case UInt8(ascii: " "):
            // "sz sometimes sends spaces" (commit b491138a1): ACKed, the error count untouched.
            output.reply.append(YModemControl.ack)
        default:
            error(into: &output)
        }
    }

    private mutating func handle(_ packet: [UInt8], into output: inout Output, board: (Request) -> Answer) {
        guard packet[1] == UInt8(truncatingIfNeeded: packetsReceived) else {
            output.reply.append(YModemControl.nak)
            return
        }
        let payload = Array(packet[Self.header..<(Self.header + packetSize)])
        if packetsReceived == 0 {
            guard payload[0] != 0 else {
                // The empty block 0 ends the session, unanswered until the board has validated.
                ending = .received(name: fileName, length: fileLength)
                return
            }
            let (name, size) = Self.parseHeader(payload)
            guard case .prepared(let length) = board(.prepare(name: name, size: size)) else {
                output.reply += [YModemControl.can, YModemControl.can]
                ending = .prepareFailed
                return
            }
            fileName = name
            fileLength = length
            output.reply += [YModemControl.ack, YModemControl.crcRequest]
        } else {
            guard board(.save(payload)) == .saved else {
                output.reply += [YModemControl.can, YModemControl.can]
                ending = .saveFailed
                return
            }
            output.reply.append(YModemControl.ack)
        }
        packetsReceived += 1
    }

    private mutating func error(into output: inout Output) {
        errors += 1
        output.reply.append(YModemControl.crcRequest)
        if errors > Self.maximumErrors {
            output.reply += [YModemControl.can, YModemControl.can]
            ending = .failed
        }
    }

    static let header = 3
    /// PACKET_OVERHEAD: the three header bytes and the two CRC bytes.
    static let overhead = 5

    /// parse_file_packet (:154-173): the name runs to its NUL (at most 256 bytes); the size is
    /// read up to a space, at most 16 bytes, then `strtoul` (so "123\0\0…" is 123, and no digits 0).
    static func parseHeader(_ payload: [UInt8]) -> (name: String, size: Int) {
        let nameBytes = payload.prefix { $0 != 0 }.prefix(256)
        var rest = payload.dropFirst(nameBytes.count + 1)
        rest = rest.prefix(16).prefix { $0 != UInt8(ascii: " ") }
        let digits = rest.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }.prefix { (0x30...0x39).contains($0) }
        let size = digits.reduce(0) { value, digit in value > Int.max / 20 ? value : value * 10 + Int(digit - 0x30) }
        return (String(decoding: nameBytes, as: UTF8.self), size)
    }
}
