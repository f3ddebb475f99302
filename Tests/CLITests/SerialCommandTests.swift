@testable import Emulator
import EmulatorServers
import Firmware
import Foundation
import Serial
import TestSupport
import Testing

func otabench(_ arguments: [String]) async throws -> OtabenchProcess.Result {
    try await OtabenchProcess.run(arguments)
}

@Suite("Serial commands against boards on pseudo-terminals", .timeLimit(.minutes(2)))
struct SerialCommandTests {
    static func folder() throws -> URL { try temporaryFolder("otabench-serial-cli") }

    @Test("flash --serial: a running Photon is asked for listening mode at 28800 baud, takes the app by YMODEM, runs it")
    func flashSerialGen2() async throws {
        let photon = Platform(buildName: "photon")!
        let board = try BoardEmulator(platform: photon)
        let folder = try Self.folder()
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: folder.appendingPathComponent("links"))
        defer { Task { await server.stop() } }
        _ = try await server.waitForPort()
        let app = try FirmwareSet.application(for: photon, size: 30_000, seed: 5)
        let file = folder.appendingPathComponent("app.bin")
        try Data(app).write(to: file)

        let result = try await otabench(["flash", server.link.path, file.path, "--serial"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("flashed \(file.path) (\(app.count) bytes)"))
        // 1.x resets 100 ms after "Restarting system…", which the command returns at.
        try await board.waitUntil { $0.runningApp?.size == app.count }
        let model = await board.snapshot()
        #expect(model.lastResetReason == .update)
        #expect(model.runningApp?.size == app.count)
    }

    @Test("flash --serial takes an app on a Gen 3 board running 5.8.0, which has YMODEM as every release before 6.0.0")
    func flashSerialGen3() async throws {
        let boron = Platform(buildName: "boron")!
        let board = try BoardEmulator(platform: boron)
        let folder = try Self.folder()
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: folder.appendingPathComponent("links"))
        defer { Task { await server.stop() } }
        _ = try await server.waitForPort()
        let app = try FirmwareSet.application(for: boron, size: 30_000, seed: 6)
        let file = folder.appendingPathComponent("app.bin")
        try Data(app).write(to: file)

        let result = try await otabench(["flash", server.link.path, file.path, "--serial"])
        #expect(result.status == 0, "\(result.standardError)")
        try await board.waitUntil { $0.runningApp?.size == app.count }
        #expect(await board.snapshot().lastResetReason == .update)
    }

    @Test("flash --serial refuses a board on Device OS 6.x (asked with `v`) and an image for another platform")
    func flashSerialRefusals() async throws {
        let folder = try Self.folder()
        let boron = try BoardEmulator(platform: Platform(buildName: "boron")!)
        await boron.update { $0.deviceOS = DeviceOSVersion(6, 2, 0); $0.enterListeningMode() }
        let server = try await PseudoTerminalBoardServer(board: boron, linkDirectory: folder.appendingPathComponent("links"))
        defer { Task { await server.stop() } }
        _ = try await server.waitForPort()
        let boronApp = folder.appendingPathComponent("boron-app.bin")
        try Data(try FirmwareSet.application(for: Platform(buildName: "boron")!, size: 10_000, seed: 1)).write(to: boronApp)
        let current = try await otabench(["flash", server.link.path, boronApp.path, "--serial"])
        #expect(current.status == 1)
        #expect(current.standardError.contains("runs Device OS 6.2.0, which no longer takes firmware by YMODEM"), "\(current.standardError)")

        let photonApp = folder.appendingPathComponent("photon-app.bin")
        try Data(try FirmwareSet.application(for: Platform(buildName: "photon")!, size: 10_000, seed: 1)).write(to: photonApp)
        let foreign = try await otabench(["flash", server.link.path, photonApp.path, "--serial"])
        #expect(foreign.status == 1)
        #expect(foreign.standardError.contains("refusing"), "\(foreign.standardError)")
        #expect(await boron.mode == .listening)
    }

    @Test("console: live output and a timestamped log, across a reset, until SIGINT")
    func console() async throws {
        let folder = try Self.folder()
        let board = try BoardEmulator(platform: Platform(buildName: "argon")!)
        let server = try await PseudoTerminalBoardServer(board: board, linkDirectory: folder.appendingPathComponent("links"))
        defer { Task { await server.stop() } }
        _ = try await server.waitForPort()
        let log = folder.appendingPathComponent("argon.log")

        let process = Process()
        process.executableURL = OtabenchProcess.executable
        process.arguments = ["console", server.link.path, "--log", log.path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // Wait for the capture to open the port (its note reaches the log).
        let deadline = ContinuousClock.now + .seconds(30)
        while !((try? String(contentsOf: log, encoding: .utf8))?.contains("-- port") ?? false), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        await board.update { $0.log("[app] INFO: before the reset") }
        try await Task.sleep(for: .milliseconds(200))
        await board.update { $0.reset(.user) }
        while !((try? String(contentsOf: log, encoding: .utf8))?.contains("bootloader: boot 2") ?? false), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        await board.update { $0.log("[app] INFO: after the reset") }
        while !((try? String(contentsOf: log, encoding: .utf8))?.contains("after the reset") ?? false), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        process.interrupt()
        let shown = String(decoding: await output.fileHandleForReading.readAll(), as: UTF8.self)
        await process.exited()
        #expect(process.terminationStatus == 0)
        #expect(shown.contains("[app] INFO: before the reset\r\n"))
        #expect(shown.contains("[app] INFO: after the reset\r\n"))
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("Z [app] INFO: before the reset"))
        #expect(text.contains("gone (the board reset"))
        #expect(text.contains("Z [app] INFO: after the reset"))
    }

    @Test("emulate --pty prints a link per board that leads to a pty, and removes the links when stopped")
    func emulatePty() async throws {
        let folder = try Self.folder().appendingPathComponent("links")
        let process = Process()
        process.executableURL = OtabenchProcess.executable
        process.arguments = ["emulate", "--pty", "--platform", "argon", "--platform", "photon", "--links", folder.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var text = ""
        while !text.contains("serving") {
            let data = await output.fileHandleForReading.nextAvailable()
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let rows = text.split(separator: "\n").filter { $0.contains("\t") }.map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { $0[0] } == ["photon", "argon"])
        for row in rows {
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: row[3]) == row[4])
            #expect(row[4].hasPrefix("/dev/pts/"))
            // The link opens as a serial port.
            let port = try SerialPort.open(row[3])
            port.closeNow()
        }
        process.interrupt()
        await process.exited()
        #expect(process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }
}
