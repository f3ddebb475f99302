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
