import ScenarioAPI
import Foundation
import GRDB

/// Everything the database holds about one run, as every report renders it.
public struct RunReport: Codable, Sendable {
    public struct Run: Codable, Sendable {
        public var id: Int64
        public var started: String
        public var finished: String?
        public var host: String
        public var version: String
        public var arguments: String
        public var inventory: String
        /// Nil when the run never finished (killed).
        public var status: String?
    }

    public struct BoardInfo: Codable, Sendable {
        public var name: String
        public var platform: String
        public var deviceId: String
        public var emulated: Bool
        public var quarantined: String?
    }

    public struct Step: Codable, Sendable {
        public var name: String
        public var status: String
        public var seconds: Double
        public var message: String?
    }

    public struct Attempt: Codable, Sendable {
        public var attempt: Int
        public var status: String
        public var seconds: Double?
        public var message: String?
    }

    public struct Case: Codable, Sendable {
        public var board: String
        public var platform: String
        public var scenario: String
        public var argument: String?
        /// The final status (the last attempt's).
        public var status: String
        public var seconds: Double
        public var message: String?
        public var knownIssue: String?
        /// Earlier attempts that failed, when the case was retried.
        public var reruns: [Attempt]
        public var steps: [Step]
        public var measurements: [ScenarioAPI.Measurement]
        public var console: String?

        public var id: String { argument.map { "\(scenario)[\($0)]" } ?? scenario }
    }

    public var run: Run
    public var boards: [BoardInfo]
    public var cases: [Case]
    /// What every rendering leads with, and why.
    public var verdict: RunVerdict
    public var verdictReason: String

    public init(run: Run, boards: [BoardInfo], cases: [Case]) {
        self.run = run
        self.boards = boards
        self.cases = cases
        let statuses = cases.map { CaseStatus(stored: $0.status) }
        verdict = switch run.status {
        case nil: .unfinished
        case "interrupted": .interrupted
        default: RunVerdict.of(statuses, interrupted: false)
        }
        verdictReason = RunVerdict.reason(statuses, verdict: verdict)
    }

    public func count(_ status: String) -> Int { cases.filter { $0.status == status }.count }
}

extension ResultsStore {
    /// The newest run, or `id`.
    public func report(run id: Int64? = nil) throws -> RunReport {
        try queue.read { db in
            guard let row = try (id.map { try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [$0]) }
                                 ?? Row.fetchOne(db, sql: "SELECT * FROM run ORDER BY id DESC LIMIT 1"))
            else { throw ReportError.noRun(id) }
            let runID: Int64 = row["id"]
            let run = RunReport.Run(id: runID, started: row["started"], finished: row["finished"], host: row["host"],
                                    version: row["version"], arguments: row["arguments"], inventory: row["inventory"], status: row["status"])
            let boards = try Row.fetchAll(db, sql: "SELECT * FROM board WHERE runId = ? ORDER BY name", arguments: [runID]).map {
                RunReport.BoardInfo(name: $0["name"], platform: $0["platform"], deviceId: $0["deviceId"], emulated: $0["emulated"],
                                    quarantined: $0["quarantined"])
            }
            let rows = try Row.fetchAll(db, sql: #"SELECT * FROM "case" WHERE runId = ? ORDER BY id"#, arguments: [runID])
            // One group per planned case: its first attempt and its reruns. Runs written before
            // cases were planned have no ordinal; there a first attempt starts a group.
            var order: [String] = []
            var groupsByKey: [String: [[Row]]] = [:]
            for row in rows {
                let ordinal: Int64? = row["ordinal"]
                let key = ordinal.map { "#\($0)" }
                    ?? "\(row["board"] as String)\u{0}\(row["scenario"] as String)\u{0}\((row["argument"] as String?) ?? "")"
                if groupsByKey[key] == nil { order.append(key) }
                if ordinal == nil, (row["attempt"] as Int) == 1 || groupsByKey[key] == nil {
                    groupsByKey[key, default: []].append([row])
                } else if groupsByKey[key] == nil {
                    groupsByKey[key] = [[row]]
                } else {
                    groupsByKey[key]![groupsByKey[key]!.count - 1].append(row)
                }
            }
            var cases: [RunReport.Case] = []
            for key in order {
                let groups = groupsByKey[key]!
                for group in groups {
                    let last = group.last!
                    let caseID: Int64 = last["id"]
                    let steps = try Row.fetchAll(db, sql: "SELECT * FROM step WHERE caseId = ? ORDER BY id", arguments: [caseID]).map {
                        RunReport.Step(name: $0["name"], status: $0["status"], seconds: $0["seconds"], message: $0["message"])
                    }
                    let measurements = try Row.fetchAll(db, sql: "SELECT * FROM measurement WHERE caseId = ? ORDER BY id", arguments: [caseID]).map {
                        ScenarioAPI.Measurement(name: $0["name"], value: $0["value"], unit: $0["unit"], lower: $0["lower"], upper: $0["upper"],
                                    withinLimits: $0["withinLimits"])
                    }
                    let console = try String.fetchOne(db, sql: "SELECT content FROM artifact WHERE caseId = ? AND name = 'console' ORDER BY id DESC LIMIT 1",
                                                      arguments: [caseID])
                        ?? group.reversed().lazy.compactMap { try? String.fetchOne(db, sql: "SELECT content FROM artifact WHERE caseId = ? AND name = 'console'", arguments: [$0["id"] as Int64]) }.first
                    cases.append(RunReport.Case(
                        board: last["board"], platform: last["platform"], scenario: last["scenario"], argument: last["argument"],
                        status: CaseStatus(stored: last["status"]).rawValue, seconds: group.reduce(0) { $0 + (($1["seconds"] as Double?) ?? 0) },
                        message: last["message"], knownIssue: last["knownIssue"],
                        reruns: group.dropLast().map { RunReport.Attempt(attempt: $0["attempt"], status: $0["status"], seconds: $0["seconds"], message: $0["message"]) },
                        steps: steps, measurements: measurements, console: console))
                }
            }
            return RunReport(run: run, boards: boards, cases: cases)
        }
    }
}

public enum ReportError: Error, CustomStringConvertible {
    case noRun(Int64?)
    public var description: String {
        switch self {
        case .noRun(let id): id.map { "no run \($0) in the results database" } ?? "the results database holds no run"
        }
    }
}
