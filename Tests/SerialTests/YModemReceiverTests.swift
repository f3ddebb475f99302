import Serial
import Testing

@Suite("YMODEM receiver", .timeLimit(.minutes(10)))
struct YModemReceiverTests {
    static func block(_ sequence: UInt8, _ payload: [UInt8], size: Int = 1024) -> [UInt8] {
        var data = payload + [UInt8](repeating: YModemControl.padding, count: size - payload.count)
        if sequence == 0 { data = payload + [UInt8](repeating: 0, count: size - payload.count) }
        let crc = CRC16.checksum(data)
        return [size == 1024 ? YModemControl.stx : YModemControl.soh, sequence, ~sequence] + data + [UInt8(crc >> 8), UInt8(crc & 0xFF)]
    }

    static func header(_ name: String, _ size: Int) -> [UInt8] {
        block(0, Array(name.utf8) + [0] + Array("\(size) 0".utf8), size: 128)
    }

    @Test("The same header again mid-file is the sender starting the file over; another header mid-file is an error")
    func restartedFile() {
        var receiver = YModemReceiver()
        _ = receiver.start()
        let data = (0..<3000).map { UInt8($0 & 0xFF) }
        _ = receiver.receive(Self.header("app.bin", 3000))
        _ = receiver.receive(Self.block(1, Array(data[0..<1024])))
        _ = receiver.receive(Self.block(2, Array(data[1024..<2048])))
        // The sender stalled, then sent the header again: the file starts over from block 1.
        var output = receiver.receive(Self.header("app.bin", 3000))
        #expect(output.events == [.fileStarted(name: "app.bin", size: 3000)])
        #expect(output.reply == [YModemControl.ack, YModemControl.crcRequest])
        output = receiver.receive(Self.block(1, Array(data[0..<1024])))
        #expect(output.events == [.data(Array(data[0..<1024]))], "block 1 again is new data, not a repeat")

        // The same file announced again with other trailing fields (a modification time, a
        // 1 KiB header block) is still the same file starting over.
        var restamped = YModemReceiver()
        _ = restamped.start()
        _ = restamped.receive(Self.header("app.bin", 3000))
        _ = restamped.receive(Self.block(1, Array(data[0..<1024])))
        _ = restamped.receive(Self.block(2, Array(data[1024..<2048])))
        let again = restamped.receive(Self.block(0, Array("app.bin".utf8) + [0] + Array("3000 14705623017 100644".utf8), size: 1024))
        #expect(again.events == [.fileStarted(name: "app.bin", size: 3000)])

        var other = YModemReceiver()
        _ = other.start()
        _ = other.receive(Self.header("app.bin", 3000))
        _ = other.receive(Self.block(1, Array(data[0..<1024])))
        _ = other.receive(Self.block(2, Array(data[1024..<2048])))
        let refused = other.receive(Self.header("other.bin", 10))
        #expect(refused.events.contains { if case .aborted = $0 { true } else { false } })
    }

    @Test("CRC-16/XMODEM of the standard check string is 0x31C3")
    func crc() {
        #expect(CRC16.checksum(Array("123456789".utf8)) == 0x31C3)
    }

    @Test("A whole batch: header, data trimmed to the size, EOT twice, the empty header")
    func wholeBatch() {
        var receiver = YModemReceiver()
        #expect(receiver.start() == [YModemControl.crcRequest])
        var output = receiver.receive(Self.header("app.bin", 1500))
        #expect(output.events == [.fileStarted(name: "app.bin", size: 1500)])
        #expect(output.reply == [YModemControl.ack, YModemControl.crcRequest])
        let data = (0..<1500).map { UInt8($0 & 0xFF) }
        output = receiver.receive(Self.block(1, Array(data[0..<1024])))
        #expect(output.events == [.data(Array(data[0..<1024]))])
        // The second block arrives in two pieces and is trimmed to the announced size.
        output = receiver.receive(Array(Self.block(2, Array(data[1024...]))[0..<500]))
        #expect(output.events.isEmpty && output.reply.isEmpty)
        output = receiver.receive(Array(Self.block(2, Array(data[1024...]))[500...]))
        #expect(output.events == [.data(Array(data[1024...]))])
        #expect(receiver.receive([YModemControl.eot]).reply == [YModemControl.nak])
        output = receiver.receive([YModemControl.eot])
        #expect(output.reply == [YModemControl.ack, YModemControl.crcRequest])
        #expect(output.events == [.fileFinished])
        output = receiver.receive(Self.block(0, [], size: 128))
        #expect(output.events == [.batchFinished])
        #expect(receiver.state == .finished)
    }

    @Test("A damaged block is NAKed, a repeated one ACKed and dropped, garbage skipped")
    func damage() {
        var receiver = YModemReceiver()
        _ = receiver.receive(Self.header("x", 2048))
        var damaged = Self.block(1, [1, 2, 3])
        damaged[10] ^= 0xFF
        #expect(receiver.receive(damaged).reply == [YModemControl.nak])
        #expect(receiver.receive([0x55, 0x00, 0x7E] + Self.block(1, [1, 2, 3])).events.count == 1)
        let repeated = receiver.receive(Self.block(1, [1, 2, 3]))
        #expect(repeated.reply == [YModemControl.ack])
        #expect(repeated.events.isEmpty)
    }

    @Test("Bad streams end in a clear error: CAN CAN, a sequence jump, a short file, an oversize file, silence")
    func badStreams() {
        var cancelled = YModemReceiver()
        _ = cancelled.receive(Self.header("x", 100))
        #expect(cancelled.receive([YModemControl.can, YModemControl.can]).events == [.aborted("the sender cancelled")])

        var jumped = YModemReceiver()
        _ = jumped.receive(Self.header("x", 5000))
        let jump = jumped.receive(Self.block(3, [1]))
        #expect(jump.reply.allSatisfy { $0 == YModemControl.can } && !jump.reply.isEmpty)
        #expect(jump.events == [.aborted("block 3 arrived where block 1 was due")])

        var short = YModemReceiver()
        _ = short.receive(Self.header("x", 5000))
        _ = short.receive(Self.block(1, [1]))
        _ = short.receive([YModemControl.eot])
        #expect(short.receive([YModemControl.eot]).events == [.aborted("the file ended 3976 bytes short of its announced size")])

        var limited = YModemReceiver(maximumFileSize: 1000)
        #expect(limited.receive(Self.header("big.bin", 5000)).events == [.aborted("big.bin is 5000 bytes, more than the 1000 bytes this receiver takes")])
        // A header with no size, or one too long for any number, does not lift the limit.
        var unsized = YModemReceiver(maximumFileSize: 1500)
        _ = unsized.receive(Self.block(0, Array("big.bin".utf8) + [0], size: 128))
        #expect(unsized.receive(Self.block(1, [UInt8](repeating: 7, count: 1024))).events == [.data([UInt8](repeating: 7, count: 1024))])
        let past = unsized.receive(Self.block(2, [UInt8](repeating: 7, count: 1024)))
        #expect(past.events == [.aborted("the file runs past the 1500 bytes this receiver takes")])
        #expect(past.reply.contains(YModemControl.can))
        var endless = YModemReceiver(maximumFileSize: 1500)
        let digits = endless.receive(Self.block(0, Array("big.bin".utf8) + [0] + [UInt8](repeating: UInt8(ascii: "9"), count: 40), size: 128))
        #expect(digits.events == [.aborted("big.bin is 40 digits long, more than the 1500 bytes this receiver takes")])

        var silent = YModemReceiver(maximumRetries: 3)
        #expect(silent.timedOut().reply == [YModemControl.crcRequest])
        _ = silent.timedOut()
        _ = silent.timedOut()
        #expect(silent.timedOut().events == [.aborted("timed out waiting for the sender")])
        #expect(silent.state == .aborted)
        #expect(silent.receive(Self.header("x", 1)).events.isEmpty)

        var noisy = YModemReceiver()
        #expect(noisy.receive([UInt8](repeating: 0x41, count: 5000)).events == [.aborted("too much garbage on the line")])
    }
}
