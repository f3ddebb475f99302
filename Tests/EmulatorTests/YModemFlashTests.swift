@testable import Emulator
import EmulatorServers
import Firmware
import Foundation
import Links
import Serial
import TestSupport
import Testing

/// Listening mode's `f` as Device OS runs it before 6.0.0 (1.5.2 on the emulated Gen 2
/// boards, 5.8.0 on Gen 3), against lrzsz, our own client, and the board's own clock.
@Suite("Listening-mode YMODEM against lrzsz and our client", .timeLimit(.minutes(10)))
struct YModemFlashTests {
    static let can = YModemControl.can

    static func file(_ bytes: [UInt8], _ name: String = "app.bin") throws -> URL {
        let file = try temporaryFolder("otabench-ymodem").appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file
    }

    static func linkFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("otabench-pty-\(UUID().uuidString)")
    }

    /// lrzsz's sb on the host end of the board's pseudo-terminal, typing `f` first, every byte
    /// both ways kept (the suite's limit stops a prompt that never comes). sb's status is nil when the line went (the board reset) before sb ended.
    static func sb(to board: BoardEmulator, _ image: [UInt8], kilobyteBlocks: Bool) async throws
        -> (transcript: RecordingStream<SerialPort>.Transcript, status: Int32?, error: String) {
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: linkFolder())
        defer { Task { await server.stop() } }
        let port = try SerialPort.open(try await server.waitForPort())
        defer { port.closeNow() }
        let line = RecordingStream(port)
        while !(try await line.read(maximum: 4096, timeout: .milliseconds(50))).isEmpty {}
        try await line.write(Array("f".utf8))
        // As at a terminal: `f`, the prompt, then sb, which never sees the prompt's text.
        while !String(decoding: await line.transcript.fromBoard, as: UTF8.self).contains("(press 'a' to abort)\r\n") {
            _ = try await line.read(maximum: 4096, timeout: .milliseconds(50))
        }
        let result = try? await PeerProcess.run("/usr/bin/sb", (kilobyteBlocks ? ["-k"] : []) + [try file(image).path], over: line,
                                                timeout: .seconds(60))
        // What the board said after sb was done with the line, up to its verdict or its hang-up.
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let text = String(decoding: await line.transcript.fromBoard, as: UTF8.self)
            if text.contains("Restarting system to apply firmware update...\r\n")
                || text.range(of: #"Validation failed: \S+\r\n"#, options: .regularExpression) != nil { break }
            guard (try? await line.read(maximum: 4096, timeout: .milliseconds(50))) != nil else { break }
        }
        return (line.transcript, result?.status, result?.standardError ?? "")
    }

    @Test("lrzsz's sb over the board's pty (it waits out the board's 5 s before each C): the first EOT ACKed, the success text; the board applies the app",
          arguments: ["photon", "boron"], [false, true])
    func sbTakes(_ platformName: String, _ kilobyteBlocks: Bool) async throws {
        let platform = Platform(buildName: platformName)!
        let board = try BoardEmulator(platform: platform)
        let image = try FirmwareSet.application(for: platform, size: 20_000, seed: 31)
        await board.update { $0.enterListeningMode() }
        let (transcript, status, errors) = try await Self.sb(to: board, image, kilobyteBlocks: kilobyteBlocks)
        #expect(status == 0, "sb: \(errors)")
        let said = await transcript.fromBoard
        let text = String(decoding: said, as: UTF8.self)
        #expect(text.contains("Waiting for the binary file to be sent ... (press 'a' to abort)\r\n"))
        #expect(await transcript.boardAnswer(after: [YModemControl.eot])?.first == YModemControl.ack, "the first EOT gets ACK, not NAK")
        #expect(text.contains("\u{06}\r\nDownloaded file successfully!\r\nName: app.bin\r\nSize: \(image.count) bytes\r\n"), "\(text.suffix(200).debugDescription)")
        try await board.waitUntil { $0.runningApp?.size == image.count }
        let model = await board.snapshot()
        #expect(model.lastResetReason == .update)
        #expect(model.mode == .running)
    }

    @Test("sb with a corrupt image over the pty: CAN CAN and the verdict (1.5.2: the failed flags; 5.x: the system error); the board resets, the old app runs",
          arguments: [("photon", "Validation failed: 0x2", ResetReason.user), ("boron", "Validation failed: -1330", ResetReason.update)])
    func sbRefused(_ platformName: String, _ verdict: String, _ reason: ResetReason) async throws {
        let platform = Platform(buildName: platformName)!
        let board = try BoardEmulator(platform: platform)
        let before = await board.snapshot()
        var corrupt = try FirmwareSet.application(for: platform, size: 20_000, seed: 32)
        corrupt[corrupt.count / 2] ^= 0x40
        await board.update { $0.enterListeningMode() }
        let (transcript, status, errors) = try await Self.sb(to: board, corrupt, kilobyteBlocks: true)
        let text = String(decoding: await transcript.fromBoard, as: UTF8.self)
        #expect(text.contains("\u{18}\u{18}\(verdict)\r\n"), "\(text.suffix(200).debugDescription); sb \(String(describing: status)): \(errors)")
        #expect(!text.contains("Downloaded file successfully!"))
        try await board.waitUntil { $0.bootCount > before.bootCount && $0.mode == .running }
        let model = await board.snapshot()
        #expect(model.lastResetReason == reason)
        #expect(model.runningApp == before.runningApp)
    }

    @Test("ListeningModeClient.flash: a corrupt app is refused with the board's own line (and the board resets), a good one taken",
          arguments: [("photon", "Validation failed: 0x2"), ("boron", "Validation failed: -1330")])
    func clientFlash(_ platformName: String, _ verdict: String) async throws {
        let platform = Platform(buildName: platformName)!
        let board = try BoardEmulator(platform: platform)
        let before = await board.snapshot()
        let image = try FirmwareSet.application(for: platform, size: 20_000, seed: 32)
        var corrupt = image
        corrupt[corrupt.count / 2] ^= 0x40

        await board.update { $0.enterListeningMode() }
        let refused = try await ListeningModeClient(stream: EmulatedSerialPort(board: board)).flash(corrupt, name: "corrupt.bin")
        #expect(refused == .refused(verdict))
        try await board.waitUntil { $0.bootCount > before.bootCount && $0.mode == .running }
        #expect(await board.snapshot().runningApp == before.runningApp)

        await board.update { $0.enterListeningMode() }
        let taken = try await ListeningModeClient(stream: EmulatedSerialPort(board: board)).flash(image, name: "app.bin")
        #expect(taken == .restarting)
        try await board.waitUntil { $0.runningApp?.size == image.count }
        #expect(await board.snapshot().lastResetReason == .update)
    }

    @Test("Our client sends block 0 at once and the closing block right after the EOT's ACK: the whole transfer runs on a board whose clock never reaches 5 s; Restarting comes 1000 ms later on that clock")
    func clientNeedsNoTimeout() async throws {
        let clock = ManualClock()
        let board = BoardEmulator(try BoardModel.provisioned(platform: Platform(buildName: "boron")!), clock: clock)
        let image = try FirmwareSet.application(for: Platform(buildName: "boron")!, size: 30_000, seed: 4)
        await board.update { $0.enterListeningMode() }
        let boot = await board.snapshot().bootCount
        let port = EmulatedSerialPort(board: board)
        let flash = Task { try await ListeningModeClient(stream: port).flash(image, name: "app.bin") }
        // The only sleeper on the board's clock is the second after "Downloaded file successfully!".
        await clock.waitForSleepers()
        let downloaded = await board.snapshot()
        #expect(downloaded.mode == .listening && downloaded.bootCount == boot)
        #expect(downloaded.updateInProgress)
        clock.advance(by: .milliseconds(999))
        #expect(await board.snapshot().bootCount == boot)
        clock.advance(by: .milliseconds(1))
        try await board.waitUntil { $0.bootCount > boot }
        #expect(try await flash.value == .restarting)
        let model = await board.snapshot()
        #expect(model.lastResetReason == .update)
        #expect(model.runningApp?.size == image.count)
    }

    @Test("The receiver's timeouts run on the board's clock: no C for 5 s after `f`, then one per 5 s; the sixth ends the transfer with CAN ×4 and Device OS's line, and the console answers again")
    func receiverTimesOutOnItsClock() async throws {
        let clock = ManualClock()
        let board = BoardEmulator(try BoardModel.provisioned(platform: Platform(buildName: "photon")!), clock: clock)
        await board.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board)
        _ = try await ListeningModeFaceTests.readAll(port)
        try await port.write(Array("f".utf8))
        #expect(try await ListeningModeFaceTests.readAll(port) == "Waiting for the binary file to be sent ... (press 'a' to abort)\r\n")
        // However long the wall clock takes, nothing until the board's clock passes 5 s.
        clock.advance(by: .milliseconds(5000))
        #expect(try await port.read(maximum: 64, timeout: .zero).isEmpty)
        clock.advance(by: .milliseconds(1))
        #expect(try await port.read(maximum: 64, timeout: .zero) == [YModemControl.crcRequest])
        #expect(try await port.read(maximum: 64, timeout: .zero).isEmpty)
        // Four more at 10, 15, 20, 25 s; the sixth at 30 s gives up.
        clock.advance(by: .seconds(20))
        #expect(try await port.read(maximum: 64, timeout: .zero) == Array(repeating: YModemControl.crcRequest, count: 4))
        clock.advance(by: .seconds(5))
        let end = try await ListeningModeFaceTests.readAll(port)
        #expect(end == "C\u{18}\u{18}\u{18}\u{18}Failed to receive the file!\r\n")
        try await port.write(Array("c".utf8))
        #expect(try await ListeningModeFaceTests.readAll(port) == "Device claimed: no\r\n")
    }

    @Test("Nothing but the receiver's bytes mid-transfer: the board's log lines stay in its console record, off the serial line")
    func noConsoleLinesMidTransfer() async throws {
        let platform = Platform(buildName: "boron")!
        let board = try BoardEmulator(platform: platform)
        await board.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board)
        _ = try await ListeningModeFaceTests.readAll(port)
        try await port.write(Array("f".utf8))
        _ = try await ListeningModeFaceTests.readAll(port)
        try await port.write(DeviceOSYModemReceiverTests.header("app.bin\u{0}2000"))
        #expect(try await port.read(maximum: 4096, timeout: .seconds(1)) == [YModemControl.ack, YModemControl.crcRequest])
        try await port.write(DeviceOSYModemReceiverTests.block(1, Array(repeating: 7, count: 1024), size: 1024))
        #expect(try await port.read(maximum: 4096, timeout: .seconds(1)) == [YModemControl.ack])
        #expect(try await port.read(maximum: 4096, timeout: .milliseconds(100)).isEmpty)
        #expect(await board.snapshot().console.contains { $0.text.contains("firmware update started, 2000 bytes") })
    }

    @Test("`a` mid-file aborts; on 5.x the update stays open until a reset (the next header is refused, and so is a USB start); 1.5.2 starts afresh",
          arguments: [("boron", true), ("photon", false)])
    func abortLeavesUpdateOpen(_ platformName: String, _ leftOpen: Bool) async throws {
        let board = try BoardEmulator(platform: Platform(buildName: platformName)!)
        await board.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board)
        _ = try await ListeningModeFaceTests.readAll(port)
        try await port.write(Array("f".utf8) + DeviceOSYModemReceiverTests.header("app.bin\u{0}3000"))
        _ = try await ListeningModeFaceTests.readAll(port)
        try await port.write(DeviceOSYModemReceiverTests.block(1, [1], size: 1024) + Array("a".utf8))
        #expect(try await ListeningModeFaceTests.readAll(port) == "\u{06}\u{18}\u{18}\u{18}\u{18}Aborted by user.\r\n")
        try await port.write(Array("f".utf8) + DeviceOSYModemReceiverTests.header("app.bin\u{0}3000"))
        let again = try await ListeningModeFaceTests.readAll(port)
        if leftOpen {
            #expect(again.hasSuffix("\u{18}\u{18}\u{18}\u{18}The file size is higher than the allowed space memory!\r\n"), "\(again.debugDescription)")
            let usb = await board.update { board -> UpdateError? in
                do throws(UpdateError) { _ = try board.startUpdate(size: 1000, source: .usb); return nil } catch { return error }
            }
            #expect(usb == .invalidState("Firmware update is already in progress"))
            await board.update { $0.reset(.user) }
            #expect(await board.update { (try? $0.startUpdate(size: 1000, source: .usb)) != nil })
        } else {
            #expect(again.hasSuffix("\u{06}C"), "\(again.debugDescription)")
        }
    }

    /// A Boron on Device OS 6.2.0 in listening mode, on a clock of the test's.
    static func listeningBoron62() async throws -> (BoardEmulator, ManualClock) {
        let clock = ManualClock()
        var model = try BoardModel.provisioned(platform: Platform(buildName: "boron")!)
        model.deviceOS = DeviceOSVersion(6, 2, 0)
        let board = BoardEmulator(model, clock: clock)
        await board.update { $0.enterListeningMode() }
        return (board, clock)
    }

    @Test("Device OS 6.x answers `f` with its prompt, then 100 ms later on its clock CAN ×4 and its line; our client says so, sb gives up")
    func currentDeviceOSRefuses() async throws {
        let (board, clock) = try await Self.listeningBoron62()
        let port = EmulatedSerialPort(board: board)
        _ = try await ListeningModeFaceTests.readAll(port)
        try await port.write(Array("fi".utf8))
        #expect(try await ListeningModeFaceTests.readAll(port) == "Waiting for the binary file to be sent ... (press 'a' to abort)\r\n")
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(99))
        #expect(try await port.read(maximum: 64, timeout: .zero).isEmpty)
        clock.advance(by: .milliseconds(1))
        try await board.waitUntil { $0.pendingSerialOutput > 0 }
        let refusal = try await ListeningModeFaceTests.readAll(port)
        // The `i` typed during the delay waited in the buffer and is answered after it.
        #expect(refusal.hasPrefix("\u{18}\u{18}\u{18}\u{18}Serial/YModem flashing is no longer supported\r\nDevice ID: "), "\(refusal.debugDescription)")

        let instant = try BoardEmulator(platform: Platform(buildName: "boron")!)
        await instant.update { $0.deviceOS = DeviceOSVersion(6, 2, 0); $0.enterListeningMode() }
        await #expect(throws: ListeningModeError.flashRefused("Serial/YModem flashing is no longer supported")) {
            _ = try await ListeningModeClient(stream: EmulatedSerialPort(board: instant)).flash([UInt8](repeating: 1, count: 3000), name: "x.bin")
        }
        #expect(await instant.mode == .listening)
    }

    @Test("A YMODEM block is saved whole, padding past the announced size included, into the sectors erased for that size", arguments: ["boron", "photon"])
    func paddingIsWritten(_ name: String) throws {
        var model = try BoardModel.provisioned(platform: Platform(buildName: name)!)
        let size = 1500
        _ = try model.startUpdate(size: size, source: .serial)
        let image = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let blocks = [Array(image[..<1024]), Array(image[1024...]) + [UInt8](repeating: 0x1A, count: 2048 - size)]
        for block in blocks { try model.saveSerialBlock(block) }
        let device: FlashDevice = model.platform.staging.location == .external ? .external : .internal
        let staged = model.storage.read(device, model.platform.staging.address, count: 4096)
        #expect(Array(staged[..<size]) == image)
        #expect(Array(staged[size..<2048]) == [UInt8](repeating: 0x1A, count: 2048 - size), "the padding is on flash")
        #expect(Array(staged[2048...]).allSatisfy { $0 == 0xFF }, "the rest of the erased sector stays erased")
        #expect(model.storage.log.filter { $0.kind == .program }.suffix(2).map(\.length) == [1024, 1024])
    }

    @Test("Our client asks the board's release before `f`: a 6.x board's CANs are waited for however late they come, a 5.x board gets block 0 at once")
    func clientKnowsTheRelease() async throws {
        let (board, clock) = try await Self.listeningBoron62()
        let client = ListeningModeClient(stream: EmulatedSerialPort(board: board), timeout: .seconds(30))
        let refusal = Task { try await client.requestFlash() }
        // The board's 100 ms pass only when this clock says: well past the 250 ms a client
        // that knew no release would listen for, the client still waits for the CANs.
        await clock.waitForSleepers()
        try await Task.sleep(for: .milliseconds(400))
        clock.advance(by: .milliseconds(100))
        await #expect(throws: ListeningModeError.flashRefused("Serial/YModem flashing is no longer supported")) { try await refusal.value }

        // Told the release, it goes straight to `f`; before 6.0.0 nothing follows the prompt.
        let five = try BoardEmulator(platform: Platform(buildName: "boron")!)
        await five.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: five)
        #expect(try await ListeningModeClient(stream: port).requestFlash(deviceOS: DeviceOSVersion(5, 8, 0)).isEmpty)
        #expect(await five.snapshot().mode == .listening)
    }
}
