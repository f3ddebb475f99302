import Foundation
import GRDB

/// How a scenario has gone on a board across the runs in the results database.
public struct HistoryRow: Hashable, Sendable, Codable {
    public var scenario: String
    public var board: String
    public var runs: Int
    public var passed: Int
    public var flaky: Int
    public var failed: Int
    /// Skipped, known failures, unexpected passes: not counted in the rates.
    public var other: Int
    /// Seconds of each run's final attempt, oldest first.
    public var durations: [Double]

    /// Passes (flaky ones included) over the runs that ran it.
    public var passRate: Double? { counted == 0 ? nil : Double(passed + flaky) / Double(counted) }
    public var flakyRate: Double? { counted == 0 ? nil : Double(flaky) / Double(counted) }
    var counted: Int { passed + flaky + failed }

    /// The newer half's mean duration against the older half's, as a fraction (0.1 = 10% slower).
    public var durationTrend: Double? {
        guard durations.count >= 2 else { return nil }
        let half = durations.count / 2
        let older = durations.prefix(half), newer = durations.suffix(durations.count - half)
        let before = older.reduce(0, +) / Double(older.count), after = newer.reduce(0, +) / Double(newer.count)
        return before > 0 ? (after - before) / before : nil
    }

    /// The last durations as a one-line bar chart.
    public var sparkline: String {
        let recent = durations.suffix(12)
        guard let low = recent.min(), let high = recent.max() else { return "" }
        let bars = Array("▁▂▃▄▅▆▇█")
        return String(recent.map { high - low < 1e-9 ? bars[3] : bars[Int((($0 - low) / (high - low)) * 7)] })
    }
}

extension ResultsStore {
    /// One row per scenario case and board, over the runs since `since` (an ISO 8601 date or
    /// time; runs are compared by their start), optionally for one scenario (a glob) or board.
    public func history(scenario: String? = nil, board: String? = nil, since: String? = nil) throws -> [HistoryRow] {
        let rows = try queue.read { db in
            // Each run's final attempt of each case.
            try Row.fetchAll(db, sql: """
                SELECT c.runId, c.board, c.scenario, c.argument, c.status, c.seconds
                FROM "case" c JOIN run r ON r.id = c.runId
                WHERE c.attempt = (SELECT MAX(attempt) FROM "case" d
                                   WHERE d.runId = c.runId AND d.board = c.board AND d.scenario = c.scenario
                                     AND d.argument IS c.argument)
                  AND c.status NOT IN ('not-applicable', 'pending')
                  AND (? IS NULL OR r.started >= ?) AND (? IS NULL OR c.board = ?) AND (? IS NULL OR c.scenario GLOB ?)
                ORDER BY c.runId, c.id
                """, arguments: [since, since, board, board, scenario, scenario])
        }
        var table: [String: HistoryRow] = [:]
        var order: [String] = []
        for row in rows {
            let argument: String? = row["argument"]
            let name: String = row["scenario"]
            let id = argument.map { "\(name)[\($0)]" } ?? name
            let boardName: String = row["board"]
            let key = id + "\u{0}" + boardName
            if table[key] == nil {
                table[key] = HistoryRow(scenario: id, board: boardName, runs: 0, passed: 0, flaky: 0, failed: 0, other: 0, durations: [])
                order.append(key)
            }
            table[key]!.runs += 1
            switch row["status"] as String {
            case "passed": table[key]!.passed += 1
            case "flaky": table[key]!.flaky += 1
            case "failed", "running": table[key]!.failed += 1
            default: table[key]!.other += 1
            }
            if let seconds: Double = row["seconds"] { table[key]!.durations.append(seconds) }
        }
        return order.map { table[$0]! }.sorted { ($0.scenario, $0.board) < ($1.scenario, $1.board) }
    }
}
