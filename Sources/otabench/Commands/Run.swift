import ArgumentParser
import Bench
import Firmware
import Foundation

struct Run: AsyncParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run scenarios on the boards of an inventory and write the results and reports.",
        discussion: """
            Exits 0 when every case ran and passed, 1 when any failed, 2 when the run could not start, \
            3 when it is INCOMPLETE (a case did not run: its board leased elsewhere, quarantined or \
            power-unverified; or no case ran at all), and 130 or 143 when SIGINT or SIGTERM stopped it \
            (the reports then say INTERRUPTED).
            """
    )

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var inventoryFile: InventoryOptions
    var inventory: String? { inventoryFile.inventory }

    @OptionGroup var results: ResultsOptions<RunReports>
    var reportDir: String { results.reportDir }
    var db: String? { results.db }

    @OptionGroup var lease: LeaseOptions

    @Option(help: "Add this many generated emulated boards.")
    var emulated: Int = 0

    @Option(name: .customLong("tag"), help: "Run scenarios with this tag (repeatable).")
    var tags: [String] = []

    @Option(name: .customLong("scenario"), help: "Run scenarios whose name matches this glob (repeatable).")
    var scenarios: [String] = []

    @Option(name: .customLong("board"), help: "Run on this board only (repeatable).")
    var boards: [String] = []

    @Option(name: .customLong("platform"), help: "Run on boards of this platform only (repeatable).")
    var platforms: [String] = []

    @Option(help: "Boards run at once.")
    var jobs: Int = 4

    @Option(help: "Reruns of a failed case; a pass on a rerun is reported as flaky.")
    var retries: Int = 0

    @Option(name: .customLong("repeat"), help: "Run every case this many times.")
    var repeatCount: Int = 1

    @Option(name: .customLong("cut-points"), help: ArgumentHelp(
        "Cut points per power-cut scenario, spread evenly over the phase it cuts (default: each scenario's own, 4).",
        valueName: "N"))
    var cutPoints: Int?

    @Option(help: "Seed for anything random in the run (recorded with the results).")
    var seed: UInt64 = 1

    @Flag(help: "List the cases the run would execute, and exit.")
    var list = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1 (boards run at once), not \(jobs)") }
        guard repeatCount >= 1 else { throw ValidationError("--repeat must be at least 1, not \(repeatCount)") }
        guard retries >= 0 else { throw ValidationError("--retries must be 0 or more, not \(retries)") }
        guard emulated >= 0, emulated <= 1000 else { throw ValidationError("--emulated must be between 0 and 1000, not \(emulated)") }
    }

    func run() async throws {
        var inventory = try loadInventory()
        inventory.addEmulated(emulated)
        let unknownPlatforms = platforms.filter { Platform.named($0) == nil }
        guard unknownPlatforms.isEmpty else {
            reportError("run: unknown platform \(unknownPlatforms.joined(separator: ", ")); known: \(Platform.catalog.map(\.buildName).joined(separator: ", "))")
            throw ExitStatus.couldNotRun.exitCode
        }
        let unknownBoards = boards.filter { name in !inventory.entries.contains { $0.name == name } }
        guard unknownBoards.isEmpty else {
            reportError("run: no board named \(unknownBoards.joined(separator: ", ")) in \(inventory.source)")
            throw ExitStatus.couldNotRun.exitCode
        }
        var options = RunOptions()
        options.tags = Set(tags.map(Tag.init(rawValue:)))
        options.scenarioPatterns = scenarios
        options.boardNames = Set(boards)
        options.platforms = Set(platforms.compactMap { Platform.named($0)?.buildName })
        options.jobs = jobs
        options.retries = retries
        options.repeatCount = repeatCount
        if let cutPoints {
            guard (1...1000).contains(cutPoints) else {
                reportError("run: --cut-points must be between 1 and 1000")
                throw ExitStatus.couldNotRun.exitCode
            }
            options.cutPoints = cutPoints
        }
        options.leaseDirectory = lease.directory

        if !list { try RunDriver.checkWritable(reportDir, verb: "run") }
        let benchBoards = try BenchSetup.boards(inventory, reportDir: reportDir, verb: "run")
        let store = try BenchSetup.store(db, reportDir: reportDir, verb: "run")
        let runner = Runner(boards: benchBoards, store: store, options: options,
                            progress: .standardError)
        let plan = runner.plan()
        if list {
            for (entry, cases) in plan {
                for (_, scenarioCase) in cases { print("\(entry.board.name)\t\(scenarioCase.id)") }
            }
            for (entry, scenarioCase, reason) in runner.notApplicable() {
                print("\(entry.board.name)\t\(scenarioCase.id)\tnot applicable: \(reason)")
            }
            return
        }
        guard !plan.isEmpty else {
            reportError("run: no scenario matches the boards and filters given; try --list without filters")
            throw ExitStatus.couldNotRun.exitCode
        }
        let outcome = try await RunDriver(runner: runner, store: store, reportDir: reportDir, verb: "run")
            .drive(arguments: ["run"] + CommandLine.arguments.dropFirst(2) + ["--seed", "\(seed)"], inventory: inventory.source)
        for result in outcome.summary.results where result.status == .unexpectedPass {
            reportError("UNEXPECTED PASS: \(result.board) \(result.id) — a known issue says it fails: \(result.knownIssue ?? "")")
        }
        print("\(outcome.report.verdict.rawValue): \(outcome.report.verdictReason)")
        if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
    }

    func loadInventory() throws -> Inventory { try BenchSetup.inventory(inventory, verb: "run") }
}
