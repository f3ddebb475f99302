import ArgumentParser
import Bench
import Firmware
import Foundation

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a board's module table, in the spirit of `particle serial inspect`.")

    @Argument(help: "The board's device id.")
    var board: String

    @OptionGroup var lease: LeaseOptions

    func run() async throws {
        // Control requests to a board mid-update would interleave with the updater's.
        let held = try lease.take(board.lowercased(), board: board, verb: "info")
        defer { withExtendedLifetime(held) {} }
        guard let target = USBBoard.find(deviceID: board) else {
            reportError("info: no Particle board \(board) on USB; `otabench boards` lists them")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard !target.isInDFU else {
            reportError("info: \(board) is in DFU mode; the module table needs Device OS running (try `otabench reset \(board)`)")
            throw ExitStatus.couldNotRun.exitCode
        }
        let platform = target.platform
        do {
            print("\(platform.displayName) (\(platform.buildName), platform \(platform.id.rawValue)), device \(board), Device OS \(try await target.deviceOSVersion())")
            for module in try await target.moduleTableEntries() {
                print("\(module.function) module #\(module.index) - version \(module.version), \(module.size) bytes\(module.maxSize > 0 ? ", \(module.maxSize) bytes max size" : "")")
                for check in module.checks {
                    print("  \(check.name): \(check.checked ? (check.passed ? "PASS" : "FAIL") : "not checked")")
                }
                for dependency in module.dependencies {
                    print("    depends on \(dependency.function) #\(dependency.index) version \(dependency.version)")
                }
            }
        } catch {
            reportError("info: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
    }
}
