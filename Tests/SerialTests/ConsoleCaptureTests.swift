import Foundation
import Links
import Serial
import Testing

/// Console capture over real pseudo-terminals.
@Suite("Console capture", .timeLimit(.minutes(2)))
struct ConsoleCaptureTests {
    static func logFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("otabench-console-\(UUID().uuidString).log")
    }

    /// The log without the prefixes the capture added: what the board sent.
    static func boardBytes(in log: URL) throws -> (bytes: [UInt8], notes: [String]) {
        var bytes: [UInt8] = []
        var notes: [String] = []
        let prefix = "2026-11-29T12:00:00.000Z ".utf8.count
        for line in try Data(contentsOf: log).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            let body = line.dropFirst(prefix)
            if body.starts(with: Array("-- ".utf8)) { notes.append(String(decoding: body, as: UTF8.self)); continue }
            bytes += body + [UInt8(ascii: "\n")]
        }
        return (bytes, notes)
    }

    @Test("10 MiB of log lines at full speed: every byte in the file, in order, each line timestamped")
    func tenMebibytes() async throws {
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        let log = Self.logFile()
        let capture = try ConsoleCapture(logFile: log, following: terminal.slavePath)
        await capture.start()
        try await capture.waitUntilAttached()
        var sent: [UInt8] = []
        var number = 0
        while sent.count < 10 << 20 {
            number += 1
            sent += Array("\(String(format: "%010d", number)) [app] INFO: sensor reading \(number % 977) \u{2014} ok\r\n".utf8)
        }
        try await terminal.master.write(sent)
        _ = try await capture.waitForLine(containing: String(format: "%010d", number), timeout: .seconds(60))
        await capture.stop()
        let (received, notes) = try Self.boardBytes(in: log)
        #expect(received.count == sent.count)
        #expect(received == sent)
        #expect(notes.count == 1 && notes[0].hasPrefix("-- port "))
        #expect(await capture.lineCount == number)
        let first = String(decoding: try Data(contentsOf: log).split(separator: UInt8(ascii: "\n"))[1], as: UTF8.self)
        #expect(first.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 0000000001 \[app\] INFO: sensor reading 1 — ok\r/) != nil)
    }

    @Test("Waits for a line or for the port end at the line or the port itself; their limits run on the capture's clock")
    func waitsOnItsClock() async throws {
        let clock = ManualClock()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let link = folder.appendingPathComponent("board")
        let capture = try ConsoleCapture(logFile: Self.logFile(), following: link.path, clock: clock)
        await capture.start()
        defer { Task { await capture.stop() } }
        // No port yet: the wait stands however long the machine takes, until its clock passes the limit.
        let noPort = Task { try await capture.waitUntilAttached(timeout: .seconds(30)) }
        await clock.waitForSleepers()
        clock.advance(by: .seconds(29))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: LinkError.timedOut) { try await noPort.value }

        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        let attached = Task { try await capture.waitUntilAttached(timeout: .seconds(30)) }
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: terminal.slavePath)
        try await attached.value

        let line = Task { try await capture.waitForLine(containing: "ready", timeout: .seconds(5)) }
        await clock.waitForSleepers()
        try await terminal.master.write(Array("booting\r\nready to go\r\n".utf8))
        #expect(try await line.value == "ready to go")

        let never = Task { try await capture.waitForLine(containing: "never printed", after: 2, timeout: .seconds(5)) }
        await clock.waitForSleepers()
        try await terminal.master.write(Array("something else\r\n".utf8))
        _ = try await capture.waitForLine(containing: "something else", after: 2, timeout: .seconds(5))
        clock.advance(by: .seconds(5))
        await #expect(throws: LinkError.timedOut) { try await never.value }
    }

    @Test("The board resets: its port goes, the capture notes it, reopens the new one, and the file has both sides")
    func reopensAfterReset() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let link = folder.appendingPathComponent("e00fce68000c000000000001")
        var terminal = try PseudoTerminal()
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: terminal.slavePath)
        let log = Self.logFile()
        let capture = try ConsoleCapture(logFile: log, following: link.path)
        await capture.start()
        try await capture.waitUntilAttached()
        try await terminal.master.write(Array("before the reset\r\npartial line".utf8))
        _ = try await capture.waitForLine(containing: "before the reset", timeout: .seconds(5))
        // The reset: the tty goes away, and comes back as another pseudo-terminal.
        try await Task.sleep(for: .milliseconds(50))
        terminal.hangUp()
        try FileManager.default.removeItem(at: link)
        try await Task.sleep(for: .milliseconds(100))
        terminal = try PseudoTerminal()
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: terminal.slavePath)
        try await capture.waitUntilAttached()
        try await terminal.master.write(Array("bootloader: boot 2\r\nafter the reset\r\n".utf8))
        let seen = try await capture.waitForLine(containing: "after the reset", after: 1, timeout: .seconds(5))
        #expect(seen == "after the reset")
        await capture.stop()
        terminal.hangUp()
        let (received, notes) = try Self.boardBytes(in: log)
        #expect(String(decoding: received, as: UTF8.self) == "before the reset\r\npartial line\nbootloader: boot 2\r\nafter the reset\r\n")
        #expect(notes.count == 3)
        #expect(notes[1].contains("gone"))
        #expect(await capture.reopenings == 1)
    }

    @Test("Waiting for a line that never comes times out; a conversation reads what the board answers")
    func waitsAndConverses() async throws {
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        let capture = try ConsoleCapture(logFile: Self.logFile(), following: terminal.slavePath)
        await capture.start()
        try await capture.waitUntilAttached()
        await #expect(throws: LinkError.timedOut) { try await capture.waitForLine(containing: "never", timeout: .milliseconds(100)) }
        let stream = await capture.stream()
        try await stream.write(Array("v".utf8))
        #expect(try await terminal.master.read(maximum: 1, timeout: .seconds(5)) == Array("v".utf8))
        try await terminal.master.write(Array("system firmware version: 5.8.0\r\n".utf8))
        let client = ListeningModeClient(stream: stream)
        try await terminal.master.write(Array("noise\r\n".utf8))
        // The stale lines are on the host's side before the question (a loaded machine could
        // otherwise deliver them after the client's quiet period, as its answer).
        _ = try await capture.waitForLine(containing: "noise", timeout: .seconds(5))
        async let version = client.systemVersion()
        _ = try await terminal.master.read(maximum: 1, timeout: .seconds(5))
        try await terminal.master.write(Array("system firmware version: 6.1.0\r\n".utf8))
        #expect(try await version == "6.1.0")
        await stream.close()
        #expect(await capture.lines.map(\.text).contains("system firmware version: 6.1.0"))
        await capture.stop()
    }
}
