import ArgumentParser
import Bench
import ControlRequests
import Firmware
import Foundation
import Links
import Serial
import USB

/// A board's serial port as the serial commands find it: a tty path given as is (a real
/// /dev/ttyACM0, a /dev/serial/by-id link, an `emulate --pty` link), or a board on USB by
/// device id, whose tty udev finds again after every reset.
struct SerialTarget {
    /// The lease of the board behind it: its device id, or the tty it is reached by.
    var leaseKey: String { deviceID?.lowercased() ?? "tty-" + ((name as NSString).resolvingSymlinksInPath as NSString).lastPathComponent }

    var name: String
    var deviceID: String?
    var locate: @Sendable () async -> String?

    static func resolve(_ board: String) -> SerialTarget {
        if board.contains("/") || FileManager.default.fileExists(atPath: board) {
            return SerialTarget(name: board, deviceID: nil) { FileManager.default.fileExists(atPath: board) ? board : nil }
        }
        let id = board.lowercased()
        return SerialTarget(name: board, deviceID: id) { USBDiscovery.tty(forDeviceID: id) }
    }

    /// Waits for the port to exist.
    func path(timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let path = await locate() { return path }
            guard ContinuousClock.now < deadline else {
                throw ValidationError(deviceID == nil ? "no serial port at \(name)"
                                                      : "no serial port for \(name): is the board on USB and running Device OS?")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

struct Console: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a board prints on its USB serial port, live, until Ctrl-C.",
        discussion: """
            BOARD is a device id (its tty is found through udev, again after each reset) or a tty path \
            (/dev/ttyACM0, a /dev/serial/by-id link, a link printed by `otabench emulate --pty`). With --log, \
            every byte also goes to FILE (appended), each line prefixed with the UTC time it arrived.
            """
    )

    @Argument(help: "The board's device id, or its tty path.")
    var board: String

    @Option(help: "Append the timestamped console to this file.", completion: .file())
    var log: String?

    func run() async throws {
        let target = SerialTarget.resolve(board)
        let capture: ConsoleCapture
        do {
            capture = try ConsoleCapture(logFile: URL(fileURLWithPath: log ?? "/dev/null"), locate: target.locate)
        } catch {
            reportError("console: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        do { _ = try await target.path(timeout: .seconds(5)) } catch {
            reportError("console: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        StopSignals.watch()
        let tap = await capture.stream()
        await capture.start()
        FileHandle.standardError.write(Data("console: \(board)\(log.map { ", logging to \($0)" } ?? ""); stop with Ctrl-C\n".utf8))
        let monitor = Task {
            var wasAttached = true
            while !Task.isCancelled {
                do {
                    let bytes = try await tap.read(maximum: 1 << 16, timeout: .milliseconds(100))
                    if !bytes.isEmpty { FileHandle.standardOutput.write(Data(bytes)) }
                    wasAttached = true
                } catch {
                    // Between a reset and the port's return.
                    if wasAttached { FileHandle.standardError.write(Data("console: \(board) went away; waiting for it\n".utf8)) }
                    wasAttached = false
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
        }
        await StopSignals.wait()
        monitor.cancel()
        _ = await monitor.value
        await capture.stop()
        // What arrived between the monitor's last look and the stop.
        while let rest = try? await tap.read(maximum: 1 << 16, timeout: .zero), !rest.isEmpty {
            FileHandle.standardOutput.write(Data(rest))
        }
    }
}

/// `otabench flash BOARD FILE --serial`: listening mode's `f` and YMODEM, Gen 2-era Device OS.
enum SerialFlash {
    static func run(board: String, file: String, image: ModuleFile, force: Bool) async throws {
        guard let module = image.modules.first else { throw ExitStatus.couldNotRun.exitCode }
        let target = SerialTarget.resolve(board)
        // A board on USB is asked for listening mode by control request first.
        if let deviceID = target.deviceID, let device = try? ParticleDevice.find(deviceID: deviceID), device.mode == .normal {
            try? await ControlRequestClient(pipe: try USBDeviceConnection(device.usb)).startListening()
        }
        let port: SerialPort
        do { port = try SerialPort.open(try await target.path(timeout: .seconds(10))) } catch {
            reportError("flash: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        defer { port.closeNow() }
        // A short first question: a board not yet listening stays silent, and is asked by baud rate.
        let client = ListeningModeClient(stream: port, timeout: .seconds(2))
        var table: ModuleTableDescription
        do { table = try await client.moduleTable() } catch is ListeningModeError {
            // Not listening (silence, or its application's log). Gen 2-era Device OS enters
            // listening mode when the line is set to 28800 baud. The line stays at 28800 until
            // the board answers: a pulse of fixed length is missed by a board that looks at
            // the line coding late (a busy host, a slow USB stack). The rate does not matter to
            // the bytes on a USB serial line, so the questions go at 28800.
            try? port.setBitRate(28800)
            defer { try? port.setBitRate(9600) }
            let asking = ListeningModeClient(stream: port, timeout: .milliseconds(500))
            let limit = ContinuousClock.now + .seconds(15)
            var answered: ModuleTableDescription?
            while answered == nil {
                do { answered = try await asking.moduleTable() } catch is ListeningModeError where ContinuousClock.now < limit {
                    continue  // not listening yet: ask again
                } catch {
                    reportError("flash: \(board): \(error) (asked for 15 s with the line at 28800 baud)")
                    throw ExitStatus.couldNotRun.exitCode
                }
            }
            table = answered!
        } catch {
            reportError("flash: \(board): \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard let platform = Platform.catalog.first(where: { Int($0.id.rawValue) == table.platformID }) else {
            reportError("flash: \(board) reports platform \(table.platformID), which otabench does not know")
            throw ExitStatus.couldNotRun.exitCode
        }
        var problems = Compatibility.check(module, on: platform, installed: table.installedModules).problems.map(\.description)
        if platform.generation != .gen2 {
            problems.append("\(platform.buildName) runs current Device OS, which no longer takes firmware by YMODEM (it answers `f` with CAN); use --dfu")
        }
        if !problems.isEmpty {
            let text = problems.joined(separator: "; ")
            if force {
                reportError("flash: warning, flashing anyway (--force): \(text)")
            } else {
                reportError("flash: refusing \(file) for \(board): \(text); --force overrides")
                throw ExitStatus.checkFailed.exitCode
            }
        }
        do {
            try await port.write(Array("f".utf8))
            let total = image.bytes.count
            try await YModemTransfer.send(name: (file as NSString).lastPathComponent, data: image.bytes, over: port) { sent, _ in
                if isatty(STDERR_FILENO) == 1 {
                    FileHandle.standardError.write(Data("\r\u{1B}[2Ksending \(sent * 100 / max(total, 1))% (\(sent)/\(total) bytes)".utf8))
                }
            }
            if isatty(STDERR_FILENO) == 1 { FileHandle.standardError.write(Data("\n".utf8)) }
            // The board validates, says so, and restarts (its port goes away).
            var said = ""
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, !said.contains("Restarting system"), !said.contains("Update failed") {
                guard let bytes = try? await port.read(maximum: 4096, timeout: .milliseconds(100)) else { break }
                said += String(decoding: bytes, as: UTF8.self)
            }
            if let failure = said.split(whereSeparator: \.isNewline).first(where: { $0.contains("Update failed") }) {
                reportError("flash: \(board) refused the image: \(failure)")
                throw ExitStatus.checkFailed.exitCode
            }
            print("flashed \(file) (\(total) bytes) to \(board) by YMODEM; the board restarts to apply it")
        } catch let error as ExitCode {
            throw error
        } catch {
            reportError("flash: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
    }
}
