@testable import Emulator
import Firmware
import Foundation
import Links
import Serial
import TestSupport
import Testing

@Suite("Listening-mode YMODEM (Gen 2 `f`) against lrzsz", .timeLimit(.minutes(10)))
struct YModemFlashTests {
    @Test("lrzsz's sb sends an app to a Gen 2 board's `f`; the board applies it and restarts", .timeLimit(.minutes(2)),
          arguments: [false, true])
    func sbToGen2(_ kilobyteBlocks: Bool) async throws {
        let photon = Platform(buildName: "photon")!
        let board = try BoardEmulator(platform: photon)
        let image = try FirmwareSet.application(for: photon, size: 20_000, seed: 31)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-ymodem-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("app.bin")
        try Data(image).write(to: file)

        await board.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board)
        _ = try await ListeningModeFaceTests.readAll(port)
        // Type `f`; the board prints its prompt and then asks for CRC blocks with "C".
        try await port.write(Array("f".utf8))
        let prompt = try await port.read(maximum: 200, timeout: .seconds(1))
        #expect(String(decoding: prompt, as: UTF8.self).hasPrefix("Waiting for the binary file to be sent"))
        #expect(prompt.last == YModemControl.crcRequest)

        let sb = try await PeerProcess.run("/usr/bin/sb", (kilobyteBlocks ? ["-k"] : []) + [file.path], over: port)
        #expect(sb.status == 0, "sb: \(sb.standardError)")
        let model = await board.snapshot()
        #expect(model.lastResetReason == .update)
        #expect(model.mode == .running)
        #expect(model.runningApp?.size == image.count)
        #expect(model.console.contains { $0.text.contains("firmware update complete") })
    }

    @Test("ListeningModeClient.flash: a good app is taken (the board says it restarts, and runs it); a corrupt one is refused with the board's own line, the old app kept")
    func clientFlash() async throws {
        let photon = Platform(buildName: "photon")!
        let board = try BoardEmulator(platform: photon)
        let before = await board.snapshot().runningApp
        let image = try FirmwareSet.application(for: photon, size: 20_000, seed: 32)
        var corrupt = image
        corrupt[corrupt.count / 2] ^= 0x40

        await board.update { $0.enterListeningMode() }
        let refused = try await ListeningModeClient(stream: EmulatedSerialPort(board: board)).flash(corrupt, name: "corrupt.bin")
        guard case .refused(let line) = refused else { Issue.record("a corrupt image gave \(refused)"); return }
        #expect(line.contains("Update failed"), "\(line)")
        #expect(await board.snapshot().runningApp == before)

        await board.update { $0.enterListeningMode() }
        let taken = try await ListeningModeClient(stream: EmulatedSerialPort(board: board)).flash(image, name: "app.bin")
        #expect(taken == .restarting)
        let model = await board.snapshot()
        #expect(model.lastResetReason == .update)
        #expect(model.runningApp?.size == image.count)
    }

    @Test("ListeningModeClient.flash on current Device OS: the prompt, then CAN; the send fails with an error, nothing is written")
    func clientFlashGen3() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        let before = await board.snapshot().runningApp
        await board.update { $0.enterListeningMode() }
        await #expect(throws: (any Error).self) {
            _ = try await ListeningModeClient(stream: EmulatedSerialPort(board: board)).flash([UInt8](repeating: 1, count: 3000), name: "x.bin")
        }
        #expect(await board.snapshot().runningApp == before)
    }

    @Test("Current Device OS answers `f` with CAN, and lrzsz's sb gives up")
    func sbToGen3() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        await board.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board)
        _ = try await ListeningModeFaceTests.readAll(port)
        try await port.write(Array("f".utf8))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-ymodem-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("app.bin")
        try Data([UInt8](repeating: 1, count: 3000)).write(to: file)
        let sb = try await PeerProcess.run("/usr/bin/sb", [file.path], over: port, timeout: .seconds(30))
        #expect(sb.status != 0)
        #expect(await board.mode == .listening)
    }

    @Test("The board's receiver asks again after 3 s without input, measured on the board's clock, not the host's speed")
    func receiverTimesOutOnItsClock() async throws {
        let clock = ManualClock()
        let board = BoardEmulator(try BoardModel.provisioned(platform: Platform(buildName: "photon")!), clock: clock)
        await board.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board)
        _ = try await ListeningModeFaceTests.readAll(port)
        try await port.write(Array("f".utf8))
        #expect(try await ListeningModeFaceTests.readAll(port).contains("Waiting for the binary file"))
        // However long the wall clock takes, nothing until the board's clock passes 3 s.
        clock.advance(by: .milliseconds(2999))
        #expect(try await port.read(maximum: 64, timeout: .zero).isEmpty)
        clock.advance(by: .milliseconds(2))
        #expect(try await port.read(maximum: 64, timeout: .zero) == [YModemControl.crcRequest])
        #expect(try await port.read(maximum: 64, timeout: .zero).isEmpty)
    }
}
