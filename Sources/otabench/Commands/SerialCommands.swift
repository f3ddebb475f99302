import ArgumentParser
import Bench
import Firmware
import Foundation

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
        let console: LiveConsole
        do { console = try LiveConsole(target, log: log.map { URL(fileURLWithPath: $0) }) } catch {
            reportError("console: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        do { _ = try await target.path(timeout: .seconds(5)) } catch {
            reportError("console: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        StopSignals.watch()
        let board = self.board
        await console.follow(output: { FileHandle.standardOutput.write(Data($0)) },
                             notice: { FileHandle.standardError.write(Data("console: \($0)\n".utf8)) },
                             started: { FileHandle.standardError.write(Data("console: \(board)\(log.map { ", logging to \($0)" } ?? ""); stop with Ctrl-C\n".utf8)) },
                             until: { await StopSignals.wait() })
    }
}

/// `otabench flash BOARD FILE --serial`: listening mode's `f` and YMODEM, Gen 2-era Device OS.
enum SerialFlash {
    static func run(board: String, file: String, image: ModuleFile, module: FirmwareModule, force: Bool) async throws {
        let flashing: SerialFlashing
        do { flashing = try await SerialFlashing(SerialTarget.resolve(board)) } catch {
            reportError("flash: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        try confirm(flashing.problems(for: module), file: file, board: board, force: force)
        let total = image.bytes.count
        let outcome: SerialFlashOutcome
        do {
            outcome = try await flashing.send(image.bytes, name: (file as NSString).lastPathComponent) { sent, _ in
                if isatty(STDERR_FILENO) == 1 {
                    FileHandle.standardError.write(Data("\r\u{1B}[2Ksending \(sent * 100 / max(total, 1))% (\(sent)/\(total) bytes)".utf8))
                }
            }
            if isatty(STDERR_FILENO) == 1 { FileHandle.standardError.write(Data("\n".utf8)) }
        } catch {
            reportError("flash: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
        if case .refused(let line) = outcome {
            reportError("flash: \(board) refused the image: \(line)")
            throw ExitStatus.checkFailed.exitCode
        }
        print("flashed \(file) (\(total) bytes) to \(board) by YMODEM; the board restarts to apply it")
    }
}
