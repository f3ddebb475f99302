import Foundation
import Links
@testable import Serial
import TestSupport
import Testing

/// Our YMODEM against lrzsz, the independent implementation, in both directions.
@Suite("YMODEM against lrzsz", .timeLimit(.minutes(2)))
struct YModemInteropTests {
    static func temporaryFolder() throws -> URL { try TestSupport.temporaryFolder("otabench-ymodem") }

    static func data(_ count: Int) -> [UInt8] {
        var state: UInt32 = 0x1234_5678
        return (0..<count).map { _ in
            state = state &* 1_103_515_245 &+ 12_345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
    }

    @Test("Our sender to lrzsz's rb: the file arrives identical", arguments: [1, 128, 1024, 1025, 70_000])
    func senderToRb(_ size: Int) async throws {
        let folder = try Self.temporaryFolder()
        let payload = Self.data(size)
        let (ours, theirs) = MemoryByteStream.pair()
        // rb itself may stall 10 s on its own read timeout (see below): the limit allows for that.
        async let peer = PeerProcess.run("/usr/bin/rb", ["-q"], over: theirs, timeout: .seconds(60), workingDirectory: folder.path)
        var sendError: (any Error)?
        do { try await YModemTransfer.send(name: "image.bin", data: payload, over: ours) } catch { sendError = error }
        let result = try await peer
        #expect(sendError == nil, "\(String(describing: sendError)); rb said: \(result.standardError) status \(result.status)")
        #expect(result.status == 0, "rb: \(result.standardError)")
        let received = try Data(contentsOf: folder.appendingPathComponent("image.bin"))
        #expect([UInt8](received) == payload)
    }

    @Test("lrzsz's sb to our receiver: the file arrives identical", arguments: [false, true])
    func sbToReceiver(_ kilobyteBlocks: Bool) async throws {
        let folder = try Self.temporaryFolder()
        let payload = Self.data(50_000)
        let file = folder.appendingPathComponent("from-sb.bin")
        try Data(payload).write(to: file)
        let (ours, theirs) = MemoryByteStream.pair()
        async let peer = PeerProcess.run("/usr/bin/sb", (kilobyteBlocks ? ["-k"] : []) + [file.path], over: theirs)
        let files = try await YModemTransfer.receive(over: ours)
        let result = try await peer
        #expect(result.status == 0, "sb: \(result.standardError)")
        #expect(files.map(\.name) == ["from-sb.bin"])
        #expect(files.first?.data == payload)
    }
}

/// The same, with both ends on a real pseudo-terminal: lrzsz on the slave as on a serial
/// line, ours on the board's side.
@Suite("YMODEM against lrzsz over a pseudo-terminal", .timeLimit(.minutes(2)))
struct YModemTerminalInteropTests {
    // rb on a pty now and then stalls on its own 10-second read timeouts (seen with sb as the
    // sender too, in the benchmark), the more often the larger the file and the busier the
    // machine: sizes stay small here. Our receiver takes a mebibyte from sb over a pty below,
    // and the benchmark sends one through a pty from our sender to our receiver.
    @Test("Our sender to rb over a pty: the file arrives identical", arguments: [1, 1024, 70_000])
    func senderToRb(_ size: Int) async throws {
        let folder = try YModemInteropTests.temporaryFolder()
        let payload = YModemInteropTests.data(size)
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        async let peer = PeerProcess.run("/usr/bin/rb", ["-q"], onTerminal: terminal.slavePath, timeout: .seconds(60),
                                         workingDirectory: folder.path)
        var sendError: (any Error)?
        do { try await YModemTransfer.send(name: "image.bin", data: payload, over: terminal.master) } catch { sendError = error }
        let result = try await peer
        #expect(sendError == nil, "\(String(describing: sendError)); rb said: \(result.standardError)")
        #expect(result.status == 0, "rb: \(result.standardError)")
        #expect([UInt8](try Data(contentsOf: folder.appendingPathComponent("image.bin"))) == payload)
    }

    @Test("sb to our receiver over a pty: the file arrives identical", arguments: [1, 1024, 70_000, 1 << 20])
    func sbToReceiver(_ size: Int) async throws {
        let folder = try YModemInteropTests.temporaryFolder()
        let payload = YModemInteropTests.data(size)
        let file = folder.appendingPathComponent("from-sb.bin")
        try Data(payload).write(to: file)
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        async let peer = PeerProcess.run("/usr/bin/sb", ["-k", "-q", file.path], onTerminal: terminal.slavePath)
        let files = try await YModemTransfer.receive(over: terminal.master)
        let result = try await peer
        #expect(result.status == 0, "sb: \(result.standardError)")
        #expect(files.map(\.name) == ["from-sb.bin"])
        #expect(files.first?.data == payload)
    }
}

@Suite("YMODEM sender", .timeLimit(.minutes(10)))
struct YModemSenderTests {
    @Test("Noise before the receiver's C is ignored; a NAK resends; CAN CAN aborts; silence gives up")
    func badStreams() {
        var sender = YModemSender(name: "a", data: [1, 2, 3])
        #expect(sender.receive(Array("Waiting for the binary file...\r\n".utf8)).send.isEmpty)
        let header = sender.receive([YModemControl.crcRequest]).send
        #expect(header.first == YModemControl.soh && header.count == 133)
        #expect(sender.receive([YModemControl.nak]).send == header)
        _ = sender.receive([YModemControl.ack])
        let block = sender.receive([YModemControl.crcRequest]).send
        #expect(block.first == YModemControl.stx && block[1] == 1 && block.count == 1029)
        #expect(sender.receive([YModemControl.can, YModemControl.can]).events == [.aborted("the receiver cancelled")])

        // The closing empty header's ACK may never come (the receiver exited or reset): the
        // file was acknowledged at EOT, so silence there completes the batch.
        var closing = YModemSender(name: "a", data: [1])
        _ = closing.receive([YModemControl.crcRequest])
        _ = closing.receive([YModemControl.ack, YModemControl.crcRequest])
        _ = closing.receive([YModemControl.ack])
        #expect(closing.receive([YModemControl.nak]).send == [YModemControl.eot])
        #expect(closing.receive([YModemControl.ack, YModemControl.crcRequest]).send.count == 133)
        #expect(closing.receive([YModemControl.crcRequest]).send.count == 133)  // asked again: sent again
        #expect(closing.timedOut().events == [.finished])
        #expect(closing.isDone)

        var silent = YModemSender(name: "a", data: [1], maximumRetries: 2)
        _ = silent.receive([YModemControl.crcRequest])
        _ = silent.timedOut()
        _ = silent.timedOut()
        #expect(silent.timedOut().events == [.aborted("timed out waiting for the receiver")])
    }

    @Test("Started at once, for Device OS: block 0 before any C; C while awaiting an ACK resends like NAK; the closing block right after the EOT's ACK; CAN CAN at the close is a refusal, not an abort")
    func startsAtOnce() {
        var sender = YModemSender(name: "app.bin", data: Array(repeating: 5, count: 1500), start: .atOnce)
        let header = sender.begin().send
        #expect(header.first == YModemControl.soh && header.count == 133)
        #expect(Array(header[3..<15]) == Array("app.bin\u{0}1500".utf8))
        #expect(sender.receive([YModemControl.crcRequest]).send == header)  // a C before the ACK: the header again
        let first = sender.receive([YModemControl.ack, YModemControl.crcRequest]).send
        #expect(first.first == YModemControl.stx && first[1] == 1)
        // Device OS answers a damaged block with C: the block again, at once.
        #expect(sender.receive([YModemControl.crcRequest]).send == first)
        let second = sender.receive([YModemControl.ack]).send
        #expect(second[1] == 2)
        #expect(sender.receive([YModemControl.ack]).send == [YModemControl.eot])
        #expect(sender.receive([YModemControl.crcRequest]).send == [YModemControl.eot])  // C for the EOT: again
        let closing = sender.receive([YModemControl.ack])
        #expect(closing.send == YModemSender.packet(sequence: 0, payload: [], size: 128, padding: 0))
        #expect(sender.isClosing)
        let refused = sender.receive([YModemControl.can, YModemControl.can] + Array("Validation failed: -1330\r\n".utf8))
        #expect(refused.events == [.refusedAtClose])
        #expect(refused.consumed == 2)
        #expect(sender.isDone)

        // On request (rb), nothing goes before the C, and the closing block waits for one too.
        var standard = YModemSender(name: "a", data: [1])
        #expect(standard.begin().send.isEmpty)
        _ = standard.receive([YModemControl.crcRequest])
        _ = standard.receive([YModemControl.ack, YModemControl.crcRequest])
        #expect(standard.receive([YModemControl.ack]).send == [YModemControl.eot])
        #expect(standard.receive([YModemControl.ack]).send.isEmpty)
        #expect(standard.receive([YModemControl.crcRequest]).send.count == 133)
    }
}

/// lrzsz's rb empties its input right after asking for the closing header (lrz.c wcrxpn), so
/// the first answer to that `C` can be lost: a receiver that asked gets the header again.
@Suite("YMODEM sender: the closing header lost once", .timeLimit(.minutes(1)))
struct YModemClosingResendTests {
    @Test("The closing header is sent again at the sender's timeout, and the batch ends on the receiver's ACK")
    func closingHeaderSentAgain() async throws {
        let (ours, theirs) = MemoryByteStream.pair()
        let payload = YModemInteropTests.data(3000)
        let peer = Task { () -> (files: Int, dropped: Bool, closed: Bool) in
            var receiver = YModemReceiver()
            try await theirs.write(receiver.start())
            var files = 0, closingSeen = 0, dropped = false
            var pending: [UInt8] = []
            while !receiver.isDone {
                // A sender gone quiet without the closing header: the batch never closed.
                let chunk = try await theirs.read(maximum: 4096, timeout: .seconds(10))
                guard !chunk.isEmpty else { return (files, dropped, false) }
                pending += chunk
                // The closing empty header (SOH 00 FF and 128 NULs): the first one is purged.
                let closing = [YModemControl.soh, 0x00, 0xFF] + [UInt8](repeating: 0, count: 128)
                if receiver.state != .awaitingHeader || pending.count < 133 || Array(pending.prefix(131)) != closing {
                    let output = receiver.receive(pending)
                    pending = []
                    files += output.events.count { if case .fileFinished = $0 { true } else { false } }
                    try await theirs.write(output.reply)
                    continue
                }
                closingSeen += 1
                if closingSeen == 1, files == 1 {
                    pending.removeFirst(133)
                    dropped = true
                    continue
                }
                let output = receiver.receive(pending)
                pending = []
                try await theirs.write(output.reply)
            }
            return (files, dropped, receiver.state == .finished)
        }
        let ending = try await YModemTransfer.send(name: "image.bin", data: payload, over: ours, timeout: .milliseconds(200),
                                                   closingWait: .seconds(5))
        let (files, dropped, closed) = try await peer.value
        #expect(ending == .acknowledged && files == 1 && dropped)
        #expect(closed, "the receiver never got the closing header again")
    }
}
