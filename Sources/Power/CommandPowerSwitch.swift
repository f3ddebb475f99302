import Foundation
import Links
import Subprocess
import NIOConcurrencyHelpers
import SystemPackage

/// A `PowerSwitch` that runs the inventory's commands (a relay board's tool, a PDU's CLI).
///
/// The argv runs as given, through no shell, so nothing in it is ever interpreted; the
/// board's name is one more argument. Each command gets a time limit, after which it is
/// stopped (SIGTERM, then SIGKILL) and the switch reports the timeout. What the command
/// printed is kept for the report.
public final class CommandPowerSwitch: PowerSwitch {
    public let hook: PowerCommandHook
    public let board: String
    public let timeout: Duration
    /// What the time limit is measured on; a test gives a manual one.
    let clock: any Clock<Duration>
    private let record = NIOLockedValueBox<(state: PowerState, output: String)>((.unknown, ""))

    public init(hook: PowerCommandHook, board: String, timeout: Duration = .seconds(30), clock: any Clock<Duration> = ContinuousClock()) {
        self.hook = hook
        self.board = board
        self.timeout = timeout
        self.clock = clock
    }

    /// What the last command printed, standard output and error together.
    public var lastOutput: String { record.withLockedValue { $0.output } }

    public func setPower(_ on: Bool) async throws {
        let state: PowerState = on ? .on : .off
        guard let argv = hook.arguments(for: state, board: board), !argv.isEmpty else {
            throw PowerSwitchError(board: board, command: [], reason: "the inventory gives no command to switch it \(state.rawValue)")
        }
        let output = try await Self.execute(argv, timeout: timeout, clock: clock, board: board)
        record.withLockedValue { $0 = (state, output) }
    }

    /// The state this switch last set; a command hook cannot read the power back.
    public func state() async throws -> PowerState { record.withLockedValue { $0.state } }

    static let outputLimit = 64 * 1024

    static func execute(_ argv: [String], timeout: Duration, clock: any Clock<Duration>, board: String) async throws -> String {
        let executable: Executable = argv[0].contains("/") ? .path(FilePath(argv[0])) : .name(argv[0])
        var options = PlatformOptions()
        // A stuck relay tool gets a moment to stop cleanly before it is killed.
        options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(1))]
        let run = Task {
            try await Subprocess.run(executable, arguments: Arguments(Array(argv.dropFirst())), platformOptions: options,
                                     output: .string(limit: outputLimit), error: .combinedWithOutput)
        }
        let watchdog = Task {
            try await clock.sleep(for: timeout)
            run.cancel()
        }
        defer { watchdog.cancel() }
        let result: ExecutionResult<Void, StringOutput<UTF8>, CombinedErrorOutput>
        do { result = try await run.value } catch let error as SubprocessError where error.code == .executableNotFound {
            throw PowerSwitchError(board: board, command: argv, reason: "no such program: \(argv[0])")
        } catch {
            if run.isCancelled { throw PowerSwitchError(board: board, command: argv, reason: "did not finish within \(timeout)") }
            throw PowerSwitchError(board: board, command: argv, reason: "\(error)")
        }
        let output = result.standardOutput
        if run.isCancelled { throw PowerSwitchError(board: board, command: argv, reason: "did not finish within \(timeout)", output: output) }
        switch result.terminationStatus {
        case .exited(0): return output
        case .exited(let code): throw PowerSwitchError(board: board, command: argv, reason: "exited with status \(code)", output: output)
        case .signaled(let signal): throw PowerSwitchError(board: board, command: argv, reason: "killed by signal \(signal)", output: output)
        }
    }
}

/// A power switch that failed, with the command and what it printed.
public struct PowerSwitchError: Error, Hashable, Sendable, CustomStringConvertible {
    public var board: String
    public var command: [String]
    public var reason: String
    public var output: String

    public init(board: String, command: [String], reason: String, output: String = "") {
        self.board = board
        self.command = command
        self.reason = reason
        self.output = output
    }

    public var description: String {
        let printed = output.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = command.isEmpty ? "" : " (" + command.map { $0.debugDescription }.joined(separator: " ") + ")"
        return "\(board): power command\(shown) \(reason)" + (printed.isEmpty ? "" : "; it printed: \(printed.suffix(500))")
    }
}
