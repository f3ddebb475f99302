import ArgumentParser
import Bench
import Foundation

struct PowerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "power",
        abstract: "Switch a real board's power through the switch its inventory entry names.",
        discussion: """
            The inventory gives a board `power-on` and `power-off` commands (argv arrays, run with no \\
            shell, the board's name appended). `status` says what the switch was last told, where it \\
            can tell, and whether the board is on USB now.
            """
    )

    enum Action: String, ExpressibleByArgument, CaseIterable { case on, off, cycle, status }

    @Argument(help: "The board's name in the inventory.")
    var board: String

    @Argument(help: "on, off, cycle or status.")
    var action: Action

    @Option(help: "Inventory file (default: Boards/emulated.toml).")
    var inventory: String?

    @Option(name: .customLong("off-time"), help: "With cycle: seconds the board stays off.")
    var offTime: Double = 2

    @OptionGroup var lease: LeaseOptions

    func validate() throws {
        guard offTime.isFinite, offTime > 0, offTime <= 3600 else {
            throw ValidationError("--off-time must be a number of seconds above 0 and at most 3600, not \(offTime)")
        }
    }

    func run() async throws {
        let path = inventory ?? "Boards/emulated.toml"
        let entries: [Inventory.Entry]
        do { entries = try Inventory.load(path).entries } catch {
            reportError("power: inventory: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard let entry = entries.first(where: { $0.name == board }) else {
            reportError("power: no board named \(board) in \(path)")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard let power = entry.manualPower else {
            reportError(entry.emulated
                ? "power: \(board) is emulated; its power is switched inside the run that drives it (scenarios, sweep)"
                : "power: \(board) has no power switch; give it power-on and power-off commands, or power-hub and power-port, in \(path)")
            throw ExitStatus.couldNotRun.exitCode
        }
        // Cutting the power of a board another run is updating is what leases exist to prevent.
        let held = action == .status ? nil
            : try lease.take(entry.deviceID?.lowercased() ?? "board-\(entry.name)", board: board, verb: "power")
        defer { withExtendedLifetime(held) {} }
        let report: BoardPowerSwitch.Report
        do {
            switch action {
            case .on: report = try await power.perform(.on)
            case .off: report = try await power.perform(.off)
            case .cycle: report = try await power.perform(.cycle(offFor: .milliseconds(Int(offTime * 1000))))
            case .status: report = try await power.perform(.status)
            }
        } catch {
            reportError("power: \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
        if !report.output.isEmpty { print(report.output) }
        let onUSB = entry.deviceID.map { USBBoard.presence(deviceID: $0) } ?? "not on USB"
        print("\(board): power \(report.state)\(report.hubPort.map { " (\($0))" } ?? ""); \(onUSB)")
    }
}
