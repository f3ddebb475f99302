import ArgumentParser
import Bench
import Foundation
import Links
import Power
import USB

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
        guard let power = entry.powerSwitch else {
            reportError(entry.emulated
                ? "power: \(board) is emulated; its power is switched inside the run that drives it (scenarios, sweep)"
                : "power: \(board) has no power switch; give it power-on and power-off commands, or power-hub and power-port, in \(path)")
            throw ExitStatus.couldNotRun.exitCode
        }
        // Cutting the power of a board another run is updating is what leases exist to prevent.
        let held = action == .status ? nil
            : try lease.take(entry.deviceID?.lowercased() ?? "board-\(entry.name)", board: board, verb: "power")
        defer { withExtendedLifetime(held) {} }
        let state: String
        do {
            switch action {
            case .on: try await power.setPower(true)
            case .off: try await power.setPower(false)
            case .cycle: try await power.cycle(offFor: .milliseconds(Int(offTime * 1000)), clock: ContinuousClock())
            case .status: break
            }
            if let command = power as? CommandPowerSwitch {
                let output = command.lastOutput.trimmingCharacters(in: .whitespacesAndNewlines)
                if !output.isEmpty { print(output) }
                state = action == .status ? "unknown (a command switch cannot read the power back)" : try await power.state().rawValue
            } else {
                state = try await power.state().rawValue
            }
        } catch {
            reportError("power: \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
        let onUSB = entry.deviceID.flatMap { try? ParticleDevice.find(deviceID: $0) }.map { "on USB (\($0.mode))" } ?? "not on USB"
        let via = (power as? HubPortPowerSwitch).map { " (\($0.hubPort))" } ?? ""
        print("\(board): power \(state)\(via); \(onUSB)")
    }
}
