import ArgumentParser
import Bench
import Foundation

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pass rate, flaky rate and duration trend per scenario and board across the runs in a results database."
    )

    @OptionGroup var output: OutputOptions
    var json: Bool { output.json }

    @Option(help: "Only scenarios matching this glob (ota/*, ota/power-cut-during-apply…).")
    var scenario: String?

    @Option(help: "Only this board.")
    var board: String?

    @Option(help: "Only runs started on or after this date (YYYY-MM-DD) or time (ISO 8601).")
    var since: String?

    @Option(help: "Results database.")
    var db: String = "reports/results.sqlite"

    func run() throws {
        if let since, since.range(of: #"^\d{4}-\d{2}-\d{2}"#, options: .regularExpression) == nil {
            reportError("history: --since takes a date such as 2026-11-01, not \"\(since)\"")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard FileManager.default.fileExists(atPath: db) else {
            reportError("history: no results database at \(db) (otabench run writes REPORT_DIR/results.sqlite)")
            throw ExitStatus.couldNotRun.exitCode
        }
        let rows: [HistoryRow]
        do { rows = try ResultsStore(path: db, mustExist: true).history(scenario: scenario, board: board, since: since) } catch {
            reportError("history: \(db): \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        guard !rows.isEmpty else {
            print("no cases match")
            return
        }
        func percent(_ value: Double?) -> String { value.map { String(format: "%.0f%%", $0 * 100) } ?? "–" }
        print(["scenario", "board", "runs", "pass", "flaky", "failed", "duration trend", "recent durations"].joined(separator: "\t"))
        for row in rows {
            let trend = row.durationTrend.map { String(format: "%+.0f%%", $0 * 100) } ?? "–"
            print([row.scenario, row.board, "\(row.runs)", percent(row.passRate), percent(row.flakyRate), "\(row.failed)", trend, row.sparkline]
                .joined(separator: "\t"))
        }
    }
}
