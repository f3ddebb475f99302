import ArgumentParser
import Bench
import Firmware
import Foundation

struct Sweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cut an emulated board's power at every flash operation of an OTA and sort what it then runs.",
        discussion: """
            Runs an OTA of an application on an emulated board, cuts the power before every flash \
            operation (and halfway through each with --torn), powers the board up twice, and \
            classifies the outcome of each cut. Exits 0 when every outcome is allowed, 1 when \
            some are not, 2 when the sweep cannot run.
            """
    )

    @OptionGroup var output: OutputOptions
    var json: Bool { output.json }

    @Option(help: "Platform to emulate (build name such as boron, or id). Defaults to the image's platform, or boron.")
    var platform: String?

    @Option(help: "An application module to update to (your own build).", completion: .file(extensions: ["bin"]))
    var image: String?

    @Option(help: "Size of the application otabench builds when no --image is given.")
    var appSize: Int = 128 << 10

    @Option(help: "Which cut points: download, apply or all.")
    var phase: String = "all"

    @Flag(help: "Also cut halfway through each erase and program.")
    var torn = false

    @Option(help: "Seed a firmware defect into the board (repeatable): \(Defect.allCases.map(\.rawValue).joined(separator: ", ")).")
    var defect: [String] = []

    @Option(help: "Comma-separated outcomes that pass: \(PowerCutSweep.Outcome.allCases.map(\.rawValue).joined(separator: ", ")).")
    var allow: String = "old-app,new-app"

    func run() async throws {
        guard let sweepPhase = PowerCutSweep.Phase(rawValue: phase) else {
            reportError("sweep: --phase must be download, apply or all, not \(phase)")
            throw ExitStatus.couldNotRun.exitCode
        }
        var defects: Set<Defect> = []
        for name in defect {
            guard let value = Defect(rawValue: name) else {
                reportError("sweep: no defect named \(name); known: \(Defect.allCases.map(\.rawValue).joined(separator: ", "))")
                throw ExitStatus.couldNotRun.exitCode
            }
            defects.insert(value)
        }
        var allowed: Set<PowerCutSweep.Outcome> = []
        for name in allow.split(separator: ",") {
            guard let outcome = PowerCutSweep.Outcome(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                reportError("sweep: no outcome named \(name)")
                throw ExitStatus.couldNotRun.exitCode
            }
            allowed.insert(outcome)
        }
        var board: Platform?
        if let platform {
            guard let found = Platform.named(platform) else {
                reportError("sweep: no platform named \(platform); known: \(Platform.catalog.map(\.buildName).joined(separator: ", "))")
                throw ExitStatus.couldNotRun.exitCode
            }
            board = found
        }

        if image == nil {
            // Checked before anything is built: a size the slot cannot hold is a usage error.
            let target = board ?? Platform(buildName: "boron")!
            let limit = (target.slot(for: .user, index: 2) ?? target.slot(for: .user, index: 1))?.size ?? 0
            guard appSize >= 1024, appSize <= limit else {
                reportError("sweep: --app-size must be between 1024 and \(limit) bytes (the \(target.buildName) user slot), not \(appSize)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
        let bytes: [UInt8]
        do {
            if let image {
                bytes = try ModuleFile(contentsOf: image).bytes
            } else {
                let target = board ?? Platform(buildName: "boron")!
                board = target
                bytes = try FirmwareSet.application(for: target, size: appSize, seed: 7)
            }
        } catch {
            reportError("sweep: \(image.map { "cannot use \($0): " } ?? "")\(error)")
            throw ExitStatus.couldNotRun.exitCode
        }

        let clock = ContinuousClock()
        let started = clock.now
        let result: PowerCutSweep.Result
        do {
            result = try PowerCutSweep(image: bytes, platform: board, phase: sweepPhase, torn: torn, defects: defects).run()
        } catch {
            reportError("sweep: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let report = SweepReport(result: result, allowed: allowed, seconds: seconds, defects: defects, image: image)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
        } else {
            print(report.humanSummary)
        }
        if !report.passed { throw ExitStatus.checkFailed.exitCode }
    }
}

struct SweepReport: Encodable {
    struct OutcomeCount: Encodable {
        var outcome: String
        var count: Int
        var allowed: Bool
        var firstCutPoints: [PowerCutSweep.CutPoint]
    }

    var platform: String
    var image: String?
    var defects: [String]
    var operations: Int
    var cutPoints: Int
    var outcomes: [OutcomeCount]
    var passed: Bool
    var seconds: Double
    var cutPointsPerSecond: Double
    var modelledUpdateSeconds: Double

    init(result: PowerCutSweep.Result, allowed: Set<PowerCutSweep.Outcome>, seconds: Double, defects: Set<Defect>, image: String?) {
        platform = result.platform.buildName
        self.image = image
        self.defects = defects.map(\.rawValue).sorted()
        operations = result.operations
        cutPoints = result.cutPoints
        outcomes = result.outcomes.keys.sorted().map { outcome in
            OutcomeCount(outcome: outcome.rawValue, count: result.count(outcome), allowed: allowed.contains(outcome),
                         firstCutPoints: Array(result.outcomes[outcome]!.prefix(5)))
        }
        passed = result.outcomes(outside: allowed).isEmpty
        self.seconds = seconds
        cutPointsPerSecond = seconds > 0 ? Double(result.cutPoints) / seconds : 0
        let modelled = result.modelledUpdateTime.components
        modelledUpdateSeconds = Double(modelled.seconds) + Double(modelled.attoseconds) / 1e18
    }

    var humanSummary: String {
        var lines = ["sweep of \(image ?? "a built application") on an emulated \(platform)"
                     + (defects.isEmpty ? "" : " with defects \(defects.joined(separator: ", "))")]
        lines.append("  \(operations) flash operations in the update (modelled \(String(format: "%.1f", modelledUpdateSeconds)) s), \(cutPoints) cut points tried")
        for outcome in outcomes {
            let points = outcome.firstCutPoints.map { point in
                "#\(point.operation) \(point.phase.rawValue) \(point.kind.rawValue) \(point.device.rawValue) \(hex(point.address))"
                    + (point.landedBytes.map { " torn at \($0)" } ?? "")
            }.joined(separator: "; ")
            lines.append("  \(outcome.outcome.padding(toLength: 24, withPad: " ", startingAt: 0))\(String(outcome.count).leftPad(6))"
                         + (outcome.allowed ? "" : "  NOT ALLOWED") + (points.isEmpty ? "" : "   first: \(points)"))
        }
        lines.append("  \(String(format: "%.2f", seconds)) s, \(String(format: "%.0f", cutPointsPerSecond)) cut points/s")
        lines.append(passed ? "PASS: every outcome is allowed" : "FAIL: some cuts end in outcomes that are not allowed")
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPad(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
