@testable import Emulator
import Serial
import Testing

/// The board's receiver against the byte scripts of Device OS's system_ymodem.cpp (v5.9.0
/// receive_packet, handle_packet, receive_file): every input and the answer it gets.
@Suite("Device OS YMODEM receiver, byte by byte")
struct DeviceOSYModemReceiverTests {
    static let ack = YModemControl.ack, nak = YModemControl.nak, can = YModemControl.can, c = YModemControl.crcRequest

    static func block(_ sequence: UInt8, _ payload: [UInt8], size: Int = 128, complement: UInt8? = nil, crc: [UInt8]? = nil) -> [UInt8] {
        let body = payload + Array(repeating: 0, count: size - payload.count)
        let sum = CRC16.checksum(body)
        return [size == 1024 ? YModemControl.stx : YModemControl.soh, sequence, complement ?? ~sequence] + body
            + (crc ?? [UInt8(sum >> 8), UInt8(sum & 0xFF)])
    }

    static func header(_ text: String) -> [UInt8] { block(0, Array(text.utf8)) }

    /// A board that takes everything, and what it was asked.
    final class Board {
        var requests: [DeviceOSYModemReceiver.Request] = []
        var refuse = false
        func answer(_ request: DeviceOSYModemReceiver.Request) -> DeviceOSYModemReceiver.Answer {
            requests.append(request)
            if refuse { return .failed }
            if case .prepare(_, let size) = request { return .prepared(length: size) }
            return .saved
        }
    }

    @Test("Success: nothing before block 0; ACK C; ACK per block (bad CRC too); every EOT ACKed; the closing block unanswered")
    func success() {
        var receiver = DeviceOSYModemReceiver()
        let board = Board()
        #expect(receiver.receive([], board: board.answer).reply.isEmpty)
        #expect(receiver.receive(Self.header("app.bin\u{0}2000 14536 100644"), board: board.answer).reply == [Self.ack, Self.c])
        #expect(board.requests == [.prepare(name: "app.bin", size: 2000)])
        #expect(receiver.receive(Self.block(1, [1, 2, 3], size: 1024), board: board.answer).reply == [Self.ack])
        // The CRC is never checked: particle-cli sent 00 00.
        #expect(receiver.receive(Self.block(2, [4], size: 1024, crc: [0, 0]), board: board.answer).reply == [Self.ack])
        #expect(board.requests.count == 3)
        guard case .save(let saved) = board.requests[1] else { Issue.record("\(board.requests)"); return }
        #expect(saved.count == 1024 && saved.prefix(3) == [1, 2, 3])
        #expect(receiver.receive([YModemControl.eot], board: board.answer).reply == [Self.ack])
        #expect(receiver.receive([YModemControl.eot], board: board.answer).reply == [Self.ack])
        let closing = receiver.receive(Self.block(0, []), board: board.answer)
        #expect(closing.reply.isEmpty)
        #expect(closing.ending == .received(name: "app.bin", length: 2000))
    }

    @Test("A wrong sequence number is NAKed and not counted; a bad complement, noise and timeouts get C and count; the sixth error aborts")
    func errors() {
        var receiver = DeviceOSYModemReceiver()
        let board = Board()
        // Block 1 while block 0 is due, seven times: NAK each, and no abort (not errors).
        for _ in 0..<7 { #expect(receiver.receive(Self.block(1, [9]), board: board.answer).reply == [Self.nak]) }
        _ = receiver.receive(Self.header("a\u{0}10"), board: board.answer)
        // A duplicate of block 0 after its ACK: NAK.
        #expect(receiver.receive(Self.header("a\u{0}10"), board: board.answer).reply == [Self.nak])
        #expect(receiver.receive(Self.block(1, [9], complement: 0), board: board.answer).reply == [Self.c])
        #expect(receiver.receive(Array("xy".utf8), board: board.answer).reply == [Self.c, Self.c])
        #expect(receiver.timedOut().reply == [Self.c])
        // CAN then anything else: an error too.
        #expect(receiver.receive([Self.can, 0x41 + 1], board: board.answer).reply == [Self.c])
        // That was the fifth; the sixth aborts with C, then CAN CAN.
        let last = receiver.receive([0x30, 0x31], board: board.answer)
        #expect(last.reply == [Self.c, Self.can, Self.can])
        #expect(last.ending == .failed)
        #expect(last.consumed == 1)
        #expect(board.requests == [.prepare(name: "a", size: 10)])
    }

    @Test("A well-formed packet resets the count: five errors, a good block, five more, no abort")
    func countResets() {
        var receiver = DeviceOSYModemReceiver()
        let board = Board()
        _ = receiver.receive(Self.header("a\u{0}10"), board: board.answer)
        for _ in 0..<5 { _ = receiver.timedOut() }
        #expect(receiver.receive(Self.block(1, [1]), board: board.answer).reply == [Self.ack])
        for _ in 0..<5 { #expect(receiver.timedOut().reply == [Self.c]) }
        #expect(receiver.ending == nil)
        #expect(receiver.timedOut().ending == .failed)
    }

    @Test("A timeout mid-packet drops what was read: the rest is noise")
    func timeoutInsidePacket() {
        var receiver = DeviceOSYModemReceiver()
        let board = Board()
        let packet = Self.header("a\u{0}10")
        #expect(receiver.receive(Array(packet.prefix(50)), board: board.answer).reply.isEmpty)
        #expect(receiver.timedOut().reply == [Self.c])
        // Five stray bytes take the count to six: C for each, then the abort.
        let rest = receiver.receive(Array(packet[50..<60]), board: board.answer)
        #expect(rest.reply == [Self.c, Self.c, Self.c, Self.c, Self.c, Self.can, Self.can])
        #expect(rest.ending == .failed)
        #expect(board.requests.isEmpty)
    }

    @Test("The sender's CAN CAN is ACKed and ends the session; a or A aborts anywhere; a space is ACKed")
    func cancels() {
        var sender = DeviceOSYModemReceiver()
        let board = Board()
        #expect(sender.receive([0x20], board: board.answer).reply == [Self.ack])
        let cancelled = sender.receive([Self.can, Self.can, 0x69], board: board.answer)
        #expect(cancelled.reply == [Self.ack])
        #expect(cancelled.ending == .failed)
        #expect(cancelled.consumed == 2)

        var user = DeviceOSYModemReceiver()
        _ = user.receive(Self.header("a\u{0}3000"), board: board.answer)
        _ = user.receive(Self.block(1, [1], size: 1024), board: board.answer)
        let aborted = user.receive(Array("a".utf8), board: board.answer)
        #expect(aborted.reply == [Self.can, Self.can])
        #expect(aborted.ending == .abortedByUser)
        var upper = DeviceOSYModemReceiver()
        #expect(upper.receive(Array("A".utf8), board: board.answer).ending == .abortedByUser)
    }

    @Test("A refused header and a failed save cancel with CAN CAN")
    func boardRefuses() {
        let board = Board()
        board.refuse = true
        var header = DeviceOSYModemReceiver()
        let refused = header.receive(Self.header("big.bin\u{0}99999999"), board: board.answer)
        #expect(refused.reply == [Self.can, Self.can])
        #expect(refused.ending == .prepareFailed)

        let saving = Board()
        var save = DeviceOSYModemReceiver()
        _ = save.receive(Self.header("a\u{0}10"), board: saving.answer)
        saving.refuse = true
        let failed = save.receive(Self.block(1, [1]), board: saving.answer)
        #expect(failed.reply == [Self.can, Self.can])
        #expect(failed.ending == .saveFailed)
    }

    @Test("Header parsing as parse_file_packet: name to NUL; size up to a space, 16 bytes at most, strtoul")
    func headers() {
        func parse(_ text: String) -> (String, Int) {
            let parsed = DeviceOSYModemReceiver.parseHeader(Array(text.utf8) + Array(repeating: 0, count: 128 - text.utf8.count))
            return (parsed.name, parsed.size)
        }
        #expect(parse("app.bin\u{0}20000 14536 100644") == ("app.bin", 20000))
        #expect(parse("app.bin\u{0}123") == ("app.bin", 123))  // "123\0\0…"
        #expect(parse("app.bin\u{0}") == ("app.bin", 0))
        #expect(parse("x\u{0}12345678901234567890") == ("x", 1_234_567_890_123_456))  // 16 digits at most
        #expect(parse("x\u{0}42abc") == ("x", 42))
    }
}
