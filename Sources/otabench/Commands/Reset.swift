import ArgumentParser
import Bench
import Firmware
import Foundation

struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reset a board on USB, or send it into DFU, safe or listening mode.")

    @Argument(help: "The board's device id.")
    var board: String

    @Flag(help: "Reset into DFU mode.")
    var dfu = false

    @Flag(help: "Reset into safe mode.")
    var safe = false

    @Flag(help: "Enter listening mode.")
    var listen = false

    @OptionGroup var lease: LeaseOptions

    func run() async throws {
        guard [dfu, safe, listen].filter({ $0 }).count <= 1 else {
            reportError("reset: give at most one of --dfu, --safe, --listen")
            throw ExitStatus.couldNotRun.exitCode
        }
        let held = try lease.take(board.lowercased(), board: board, verb: "reset")
        defer { withExtendedLifetime(held) {} }
        guard let target = USBBoard.find(deviceID: board) else {
            reportError("reset: no Particle board \(board) on USB; `otabench boards` lists them")
            throw ExitStatus.couldNotRun.exitCode
        }
        do {
            if dfu { try await target.enterDFU() }
            else if safe { try await target.enterSafeMode(); _ = try await target.waitUntilUp(timeout: .seconds(15)) }
            else if listen { try await target.enterListeningMode() }
            else { try await target.reset() }
            print("\(board): \(await target.mode())")
        } catch {
            reportError("reset: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
    }
}
