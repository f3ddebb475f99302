import Foundation
import Links
import Serial
import Testing

/// The termios port over real pseudo-terminals: the same code opens /dev/ttyACM0.
@Suite("Serial port over a pseudo-terminal", .timeLimit(.minutes(1)))
struct SerialPortTests {
    static func readAll(_ stream: some ByteStream, count: Int, timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while bytes.count < count, ContinuousClock.now < deadline {
            bytes += try await stream.read(maximum: count - bytes.count, timeout: .milliseconds(200))
        }
        return bytes
    }

    @Test("Bytes cross both ways, raw: no echo, no CR/LF translation, every byte value")
    func bothWays() async throws {
        let terminal = try PseudoTerminal()
        let host = try SerialPort.open(terminal.slavePath)
        defer { host.closeNow() }
        let everyByte = (0...255).map(UInt8.init) + Array("line\r\n\n\r".utf8)
        try await host.write(everyByte)
        #expect(try await Self.readAll(terminal.master, count: everyByte.count) == everyByte)
        try await terminal.master.write(everyByte.reversed())
        #expect(try await Self.readAll(host, count: everyByte.count) == everyByte.reversed())
        // Nothing came back to the board: the line does not echo.
        #expect(try await terminal.master.read(maximum: 10, timeout: .milliseconds(50)).isEmpty)
    }

    @Test("A read with nothing to read returns empty after its timeout")
    func readTimesOut() async throws {
        let terminal = try PseudoTerminal()
        let host = try SerialPort.open(terminal.slavePath)
        defer { host.closeNow() }
        let started = ContinuousClock.now
        #expect(try await host.read(maximum: 16, timeout: .milliseconds(100)).isEmpty)
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }

    @Test("Any bit rate, 14400 included, reaches the board's side of the line", arguments: [14400, 28800, 9600, 115_200])
    func bitRates(_ rate: Int) async throws {
        let terminal = try PseudoTerminal()
        let host = try SerialPort.open(terminal.slavePath, bitRate: 9600)
        defer { host.closeNow() }
        try host.setBitRate(rate)
        #expect(try host.bitRate() == rate)
        #expect(terminal.hostBitRate() == rate)
    }

    @Test("A pseudo-terminal has no modem lines, and says so")
    func modemLines() throws {
        let terminal = try PseudoTerminal()
        let host = try SerialPort.open(terminal.slavePath)
        defer { host.closeNow() }
        #expect {
            try host.setModemLines(dtr: true, rts: false)
        } throws: { ($0 as? SerialPortError)?.reason == "the line has no modem control lines" }
    }

    @Test("The board hanging up ends the host's reads with disconnected, after what it had sent")
    func hangUp() async throws {
        let terminal = try PseudoTerminal()
        let host = try SerialPort.open(terminal.slavePath)
        defer { host.closeNow() }
        try await terminal.master.write(Array("bye\r\n".utf8))
        #expect(try await Self.readAll(host, count: 5) == Array("bye\r\n".utf8))
        terminal.hangUp()
        await #expect(throws: LinkError.disconnected) {
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline { _ = try await host.read(maximum: 16, timeout: .milliseconds(100)) }
        }
        await #expect(throws: LinkError.disconnected) { try await host.write([1]) }
    }

    @Test("Closing with output the board never reads returns at once, and the port then refuses")
    func closeNeverBlocks() async throws {
        let terminal = try PseudoTerminal(bufferLimit: 4096)
        let host = try SerialPort.open(terminal.slavePath)
        // More than the line buffers: the write stalls until the close ends it.
        let writer = Task { try await host.write([UInt8](repeating: 0x55, count: 1 << 20)) }
        try await Task.sleep(for: .milliseconds(100))
        await host.close()
        await #expect(throws: LinkError.disconnected) { try await writer.value }
        await #expect(throws: LinkError.disconnected) { try await host.read(maximum: 1, timeout: .seconds(1)) }
        terminal.hangUp()
    }

    @Test("Opening a missing path or a file that is not a tty is a clear error")
    func badPaths() throws {
        #expect {
            try SerialPort.open("/dev/ttyACM-nowhere")
        } throws: { "\($0)" == "/dev/ttyACM-nowhere: cannot open: No such file or directory" }
        #expect {
            try SerialPort.open("/dev/null")
        } throws: { "\($0)" == "/dev/null: cannot open: not a terminal device" }
    }
}
