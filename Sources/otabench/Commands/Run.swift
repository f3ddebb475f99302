import ArgumentParser
import Bench
import Firmware
import Foundation
import Scenarios

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run scenarios on the boards of an inventory and write the results and reports.",
        discussion: "Exits 0 when every case passed, 1 when any failed, 2 when the run could not start."
    )

    @Option(help: "Inventory file (default: Boards/emulated.toml, else one emulated board per platform).")
    var inventory: String?

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

    @Option(help: "Where the reports go.")
    var reportDir: String = "reports"

    @Option(help: "Results database (default: REPORT_DIR/results.sqlite).")
    var db: String?

    @Option(help: "Where board leases are kept, so two runs never share a board.")
    var leaseDir: String = "/tmp/otabench-leases"

    @Flag(help: "List the cases the run would execute, and exit.")
    var list = false

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
        options.jobs = max(1, jobs)
        options.retries = max(0, retries)
        options.repeatCount = max(1, repeatCount)
        if let cutPoints {
            guard (1...1000).contains(cutPoints) else {
                reportError("run: --cut-points must be between 1 and 1000")
                throw ExitStatus.couldNotRun.exitCode
            }
            options.cutPoints = cutPoints
        }
        options.leaseDirectory = leaseDir

        let benchBoards = try BenchSetup.boards(inventory, reportDir: reportDir, verb: "run")
        let store = try BenchSetup.store(db, reportDir: reportDir, verb: "run")
        let runner = Runner(scenarios: ScenarioLibrary.all, boards: benchBoards, store: store, options: options,
                            progress: .standardError)
        let plan = runner.plan()
        if list {
            for (entry, cases) in plan {
                for (_, scenarioCase) in cases { print("\(entry.board.name)\t\(scenarioCase.id)") }
            }
            return
        }
        guard !plan.isEmpty else {
            reportError("run: no scenario matches the boards and filters given; try --list without filters")
            throw ExitStatus.couldNotRun.exitCode
        }
        let summary = try await runner.run(arguments: ["run"] + CommandLine.arguments.dropFirst(2) + ["--seed", "\(seed)"],
                                           inventory: inventory.source)
        if let runID = summary.runID {
            let written = try ReportFormat.write(try store.report(run: runID), formats: ReportFormat.allCases, to: reportDir)
            FileHandle.standardError.write(Data("reports: \(written.joined(separator: ", "))\n".utf8))
        }
        for result in summary.results where result.status == .unexpectedPass {
            reportError("UNEXPECTED PASS: \(result.board) \(result.id) — a known issue says it fails: \(result.knownIssue ?? "")")
        }
        if !summary.passed { throw ExitStatus.checkFailed.exitCode }
    }

    func loadInventory() throws -> Inventory { try BenchSetup.inventory(inventory, verb: "run") }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a run from the results database as JUnit XML, JSON and HTML."
    )

    @Option(help: "The run to render (default: the newest).")
    var run: Int64?

    @Option(help: "Comma-separated formats: junit, json, html.")
    var format: String = "junit,json,html"

    @Option(help: "Where the reports go.")
    var out: String = "reports"

    @Option(help: "Results database (default: OUT/results.sqlite).")
    var db: String?

    func run() async throws {
        var formats: [ReportFormat] = []
        for name in format.split(separator: ",") {
            guard let value = ReportFormat(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                reportError("report: unknown format \(name); use junit, json, html")
                throw ExitStatus.couldNotRun.exitCode
            }
            formats.append(value)
        }
        let path = db ?? (out as NSString).appendingPathComponent("results.sqlite")
        guard FileManager.default.fileExists(atPath: path) else {
            reportError("report: no results database at \(path); run `otabench run` first or give --db")
            throw ExitStatus.couldNotRun.exitCode
        }
        do {
            let report = try ResultsStore(path: path).report(run: run)
            for written in try ReportFormat.write(report, formats: formats, to: out) { print(written) }
        } catch {
            reportError("report: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
    }
}
