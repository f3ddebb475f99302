import ArgumentParser
import Bench
import Foundation
import Logging

@main
struct Otabench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "otabench",
        abstract: "A hardware-in-the-loop test bench for OTA firmware updates on Particle boards.",
        version: BenchVersion.current,
        subcommands: [Run.self, Report.self, BoardsCommand.self, Flash.self, Reset.self, Info.self, Console.self, PowerCommand.self, Inspect.self, Platforms.self, Sweep.self, EfficacyCommand.self, Emulate.self,
                      Qualify.self, VerifyReport.self, Keygen.self, History.self, CloudCommand.self]
    )

    /// Maps ArgumentParser's usage failures (64) onto the bench's exit codes:
    /// 0 success, 1 the thing checked failed, 2 the command could not run, 3 a qualification incomplete.
    static func main() async {
        do {
            var command = try parseAsRoot()
            bootstrapLogging((command as? LoggingCommand)?.logging.level ?? .notice)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitStatus.couldNotRun.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// The exit codes every verb uses (DESIGN.md, "Command-line conventions").
enum ExitStatus: Int32 {
    case success = 0
    case checkFailed = 1
    case couldNotRun = 2
    /// A qualification that neither passed nor failed: something required did not run.
    case incomplete = 3

    var exitCode: ExitCode { ExitCode(rawValue) }
}

/// Prints one line to stderr: what was being done, to what, and what to try.
func reportError(_ message: String) {
    FileHandle.standardError.write(Data("otabench: \(message)\n".utf8))
}
