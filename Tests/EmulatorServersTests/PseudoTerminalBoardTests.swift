@testable import Emulator
@testable import EmulatorServers
import Firmware
import Foundation
import Links
import NIOConcurrencyHelpers
import Serial
import TestSupport
import Testing

/// Emulated boards on real pseudo-terminals: the host side is the termios port a real
/// board's /dev/ttyACM0 is opened with.
@Suite("Emulated boards on pseudo-terminals", .timeLimit(.minutes(1)))
struct PseudoTerminalBoardTests {
    static func linkFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("otabench-pty-\(UUID().uuidString)")
    }

    /// What the board printed up to `marker`; the suite's time limit stops a marker that never comes.
    static func text(from port: SerialPort, until marker: String) async throws -> String {
        var received: [UInt8] = []
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            received += try await port.read(maximum: 4096, timeout: .milliseconds(100))
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test("Listening mode through the pty: i, v, m and s parsed into values; x leaves", arguments: ["argon", "photon", "p2"])
    func listeningMode(_ platformName: String) async throws {
        let board = try BoardEmulator(platform: Platform(buildName: platformName)!)
        await board.update { $0.enterListeningMode() }
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: Self.linkFolder())
        defer { Task { await server.stop() } }
        let port = try SerialPort.open(try await server.waitForPort())
        defer { port.closeNow() }
        let client = ListeningModeClient(stream: port)
        let model = await board.snapshot()

        #expect(try await client.identify().deviceID == model.deviceID)
        #expect(try await client.systemVersion() == model.deviceOS.description)
        #expect(try await client.macAddress() == model.macAddress)
        let table = try await client.moduleTable()
        #expect(table == model.moduleTableDescription())
        #expect(table.platformID == Int(model.platform.id.rawValue))
        #expect(!table.modules.isEmpty)
        try await client.exit()
        try await board.waitUntil { $0.mode != .listening }
        #expect(await board.mode == .running)
    }

    @Test("A board without a port: the wait for one ends when the board gets it, or when the server's clock passes its limit")
    func waitForPortOnItsClock() async throws {
        let clock = ManualClock()
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        await board.update { $0.powerOff() }
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: Self.linkFolder(), clock: clock)
        defer { Task { await server.stop() } }
        let off = Task { try await server.waitForPort(timeout: .seconds(30)) }
        await clock.waitForSleepers()
        clock.advance(by: .seconds(29))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: LinkError.timedOut) { try await off.value }
        #expect(server.path == nil)

        let on = Task { try await server.waitForPort(timeout: .seconds(30)) }
        await clock.waitForSleepers()
        await board.update { $0.powerOn() }
        let path = try await on.value
        #expect(server.path == path)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: server.link.path) == path)
    }

    @Test("The old line's wait for the board's last words runs on the clock it is given: 2 s with nobody reading, on while a host reads, 10 s at most")
    func lastWordsOnTheClock() async {
        let clock = ManualClock()
        let ended = NIOLockedValueBox<Duration?>(nil)
        func wait(_ unread: @escaping @Sendable () -> Int) -> Task<Void, Never> {
            Task {
                await PseudoTerminalBoardServer.waitForLastWords(on: clock, unread: unread)
                ended.withLockedValue { $0 = clock.now.offset }
            }
        }
        // Nobody reads: it is still waiting just short of 2 s, and done at 2 s.
        let idle = wait { 40 }
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(1998))
        await clock.waitForSleepers()
        #expect(ended.withLockedValue { $0 } == nil)
        clock.advance(by: .milliseconds(2))
        await idle.value
        #expect(ended.withLockedValue { $0 } == .seconds(2))

        // A host reads a little between looks: the wait goes on past 2 s, up to 10 s in all.
        ended.withLockedValue { $0 = nil }
        let start = clock.now.offset
        let left = NIOLockedValueBox(1000)
        let reading = wait { left.withLockedValue { $0 -= 1; return $0 } }
        for _ in 0..<5 {
            await clock.waitForSleepers()
            clock.advance(by: .milliseconds(1900))
        }
        await clock.waitForSleepers()
        #expect(ended.withLockedValue { $0 } == nil, "gave up on a reading host after \(clock.now.offset - start)")
        clock.advance(by: .milliseconds(500))
        await reading.value
        #expect(ended.withLockedValue { $0 }.map { $0 - start } == .seconds(10))

        // Everything read: no wait at all, or one look.
        let before = clock.now
        await PseudoTerminalBoardServer.waitForLastWords(on: clock) { 0 }
        #expect(clock.now == before)
        let once = NIOLockedValueBox(2)
        let drained = wait { once.withLockedValue { value in defer { value = 0 }; return value } }
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(2))
        await drained.value
    }

    @Test("A board that resets with its last words unread keeps its old line, on the server's clock, until nobody has read them for 2 s")
    func lastWordsKeepTheLine() async throws {
        let clock = ManualClock()
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: Self.linkFolder(), clock: clock)
        defer { Task { await server.stop() } }
        let first = try await server.waitForPort()
        while clock.sleeperCount > 0, !Task.isCancelled { await Task.yield() }
        let boot = await board.update { board -> Int in
            board.log(String(repeating: "last words ", count: 10))
            board.reset(.user)
            return board.bootCount
        }
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(1998))
        await clock.waitForSleepers()
        #expect(server.path == first, "the line went before 2 s")
        clock.advance(by: .milliseconds(2))
        let second = try await server.waitForPort(boot: boot)
        #expect(server.path == second)
    }

    @Test("Asked for a boot, the wait passes over the line of the boot before, which the server has yet to hang up: what the host writes reaches the board")
    func waitForPortOfABoot() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "photon")!)
        await board.update { $0.enterListeningMode() }
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: Self.linkFolder())
        defer { Task { await server.stop() } }
        _ = try await server.waitForPort()
        let boot = await board.update { board -> Int in
            board.reset(.user)
            board.enterListeningMode()
            return board.bootCount
        }
        let port = try SerialPort.open(try await server.waitForPort(boot: boot))
        defer { port.closeNow() }
        #expect(try await ListeningModeClient(stream: port).identify().deviceID == board.snapshot().deviceID)
    }

    @Test("A reset hangs the line up; the board comes back on a new pty that its link follows")
    func followsResets() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: Self.linkFolder(), alias: "bench-boron")
        defer { Task { await server.stop() } }
        let port = try SerialPort.open(try await server.waitForPort())
        await board.update { $0.reset(.user) }
        await #expect(throws: LinkError.disconnected) {
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline { _ = try await port.read(maximum: 4096, timeout: .milliseconds(100)) }
        }
        // The kernel may hand out the same /dev/pts number again, as a real board may come
        // back as the same ttyACM: what matters is that the link leads to the live line.
        let secondPath = try await server.waitForPort()
        #expect(try FileManager.default.destinationOfSymbolicLink(
            atPath: server.link.deletingLastPathComponent().appendingPathComponent("bench-boron").path) == secondPath)
        let again = try SerialPort.open(server.link.path)
        defer { again.closeNow() }
        await board.update { $0.log("hello after the reset") }
        #expect(try await Self.text(from: again, until: "hello after the reset").contains("hello after the reset"))
    }

    @Test("Opening the line at 14400 baud sends the board into DFU mode, and its port goes away")
    func magicBaudRate() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "argon")!)
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: Self.linkFolder())
        defer { Task { await server.stop() } }
        _ = try await server.waitForPort()
        let port = try SerialPort.open(try await server.waitForPort(), bitRate: 14400)
        defer { port.closeNow() }
        try await board.waitUntil { $0.mode == .dfu }
        // The server hangs the line up on its next look at the board; only the suite's limit
        // stops a line that never goes.
        while server.path != nil { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test("Our client flashes a board through its pty (`f`, block 0 at once), and the board runs the app", arguments: ["photon", "boron", "p2"])
    func ymodemThroughPty(_ platformName: String) async throws {
        let platform = Platform(buildName: platformName)!
        let board = try BoardEmulator(platform: platform)
        let image = try FirmwareSet.application(for: platform, size: 40_000, seed: 77)
        await board.update { $0.enterListeningMode() }
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: Self.linkFolder())
        defer { Task { await server.stop() } }
        let port = try SerialPort.open(try await server.waitForPort())
        defer { port.closeNow() }
        #expect(try await ListeningModeClient(stream: port).flash(image, name: "app.bin") == .restarting)
        try await board.waitUntil { $0.runningApp?.size == image.count }
        #expect(await board.snapshot().lastResetReason == .update)
    }

    @Test("After the transfer the old line carries the verdict to its end: \"Restarting system…\" reaches the host before the reset hangs it up, and the next boot's log goes to the next line")
    func restartingReachesTheHost() async throws {
        let platform = Platform(buildName: "boron")!
        let board = try BoardEmulator(platform: platform)
        let image = try FirmwareSet.application(for: platform, size: 20_000, seed: 78)
        await board.update { $0.enterListeningMode() }
        let boot = await board.snapshot().bootCount
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: Self.linkFolder())
        defer { Task { await server.stop() } }
        let port = try SerialPort.open(try await server.waitForPort())
        defer { port.closeNow() }
        let client = ListeningModeClient(stream: port)
        try await client.sendFirmware(image, name: "app.bin", afterPrompt: try await client.requestFlash())
        // Everything until the line goes; the suite's limit stops a line that never does.
        var said: [UInt8] = []
        do {
            while true { said += try await port.read(maximum: 4096, timeout: .milliseconds(100)) }
        } catch LinkError.disconnected {}
        let text = String(decoding: said, as: UTF8.self)
        #expect(text == "\r\nDownloaded file successfully!\r\nName: app.bin\r\nSize: \(image.count) bytes\r\n"
            + "Restarting system to apply firmware update...\r\n", "\(text.debugDescription)")
        // The new line has the new boot's own lines.
        let next = try SerialPort.open(try await server.waitForPort(boot: boot + 1))
        defer { next.closeNow() }
        await board.update { $0.log("after the update") }
        let after = try await Self.text(from: next, until: "after the update")
        #expect(after.contains("bootloader: boot \(boot + 1)"), "\(after.debugDescription)")
        #expect(!after.contains("Restarting system"))
    }
}

/// PyPI's `ymodem` 1.5.3 over pyserial, an independent sender, against the boards' ptys
/// (Tests/TestSupport/Peers/send_ymodem_pty.py; Scripts/setup installs both).
@Suite("PyPI ymodem against emulated boards on pseudo-terminals", .timeLimit(.minutes(2)))
struct PythonYModemTests {
    static let script = Fixtures.repositoryRoot.appendingPathComponent("Tests/TestSupport/Peers/send_ymodem_pty.py").path

    static func send(_ image: [UInt8], to board: BoardEmulator, kick: Bool) async throws -> ToolProcess.Result {
        let probe = try await ToolProcess.run("/usr/bin/env", ["python3", "-c", "import ymodem, serial"])
        try #require(probe.status == 0, "python3 lacks ymodem or pyserial: run Scripts/setup (\(probe.output))")
        let folder = try temporaryFolder("otabench-pyymodem")
        let file = folder.appendingPathComponent("app.bin")
        try Data(image).write(to: file)
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: folder.appendingPathComponent("links"))
        defer { Task { await server.stop() } }
        _ = try await server.waitForPort()
        return try await ToolProcess.run("/usr/bin/env", ["python3", script, server.link.path, file.path] + (kick ? ["--kick"] : []))
    }

    @Test("The Python sender flashes a 1.5.2 Photon and a 5.8.0 Boron: the success text, then Restarting; the board runs the app",
          arguments: ["photon", "boron"], [false, true])
    func takes(_ platformName: String, _ kick: Bool) async throws {
        let platform = Platform(buildName: platformName)!
        let board = try BoardEmulator(platform: platform)
        let image = try FirmwareSet.application(for: platform, size: 20_000, seed: 90)
        await board.update { $0.enterListeningMode() }
        let result = try await Self.send(image, to: board, kick: kick)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("<ACK>\r\nDownloaded file successfully!\r\nName: app.bin\r\nSize: \(image.count) bytes\r\n"
            + "Restarting system to apply firmware update...\r\n"), "\(result.output)")
        try await board.waitUntil { $0.runningApp?.size == image.count }
        #expect(await board.snapshot().lastResetReason == .update)
    }

    @Test("The Python sender's corrupt image: CAN CAN and Validation failed with the system error; the old app runs after the reset")
    func refused() async throws {
        let platform = Platform(buildName: "boron")!
        let board = try BoardEmulator(platform: platform)
        let before = await board.snapshot()
        var corrupt = try FirmwareSet.application(for: platform, size: 20_000, seed: 91)
        corrupt[corrupt.count / 2] ^= 0x40
        await board.update { $0.enterListeningMode() }
        let result = try await Self.send(corrupt, to: board, kick: true)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("<CAN><CAN>Validation failed: -1330\r\n"), "\(result.output)")
        try await board.waitUntil { $0.bootCount > before.bootCount && $0.mode == .running }
        #expect(await board.snapshot().runningApp == before.runningApp)
    }
}
