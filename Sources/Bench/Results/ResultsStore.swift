import ScenarioAPI
import Foundation
import GRDB

/// The results database (SQLite through GRDB): runs, boards, cases, steps, measurements,
/// artifacts. Every step and case is written when it ends, in its own transaction, so a run
/// killed at any moment keeps everything that finished.
public final class ResultsStore: Sendable {
    public let path: String
    let queue: DatabaseQueue

    /// Opens, or creates, the results database at `path`. With `mustExist`, a missing file is an
    /// error (reading commands must not leave an empty database behind). A SQLite file that
    /// holds other tables and none of ours is refused rather than given our tables.
    public init(path: String, mustExist: Bool = false) throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { throw ResultsStoreError.notADatabase(path, "it is a folder") }
        if mustExist, !exists { throw ResultsStoreError.missing(path) }
        if !exists {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // WAL with synchronous=NORMAL: a committed step survives the process being killed
        // (only an operating-system crash can lose the last commits), at a fraction of the fsyncs.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            let tables = try queue.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            }
            if !tables.isEmpty, !tables.contains("grdb_migrations") || !tables.contains("run") {
                throw ResultsStoreError.notADatabase(path, "it holds other tables (\(tables.sorted().prefix(5).joined(separator: ", ")))")
            }
            try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            try Self.migrator.migrate(queue)
        } catch let error as ResultsStoreError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw ResultsStoreError.notADatabase(path, "it is not a SQLite database")
        }
        self.path = path
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("started", .text).notNull()
                t.column("finished", .text)
                t.column("host", .text).notNull()
                t.column("version", .text).notNull()
                t.column("arguments", .text).notNull()
                t.column("inventory", .text).notNull()
                t.column("status", .text)
            }
            try db.create(table: "board") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("platform", .text).notNull()
                t.column("deviceId", .text).notNull()
                t.column("emulated", .boolean).notNull()
                t.column("quarantined", .text)
                t.primaryKey(["runId", "name"])
            }
            try db.create(table: "case") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runId", .integer).notNull().indexed().references("run", onDelete: .cascade)
                t.column("board", .text).notNull()
                t.column("platform", .text).notNull()
                t.column("scenario", .text).notNull()
                t.column("argument", .text)
                t.column("attempt", .integer).notNull()
                t.column("status", .text).notNull()
                t.column("started", .text).notNull()
                t.column("seconds", .double)
                t.column("message", .text)
                t.column("knownIssue", .text)
            }
            try db.create(table: "step") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("caseId", .integer).notNull().indexed().references("case", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("status", .text).notNull()
                t.column("seconds", .double).notNull()
                t.column("message", .text)
            }
            try db.create(table: "measurement") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("caseId", .integer).notNull().indexed().references("case", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("value", .double).notNull()
                t.column("unit", .text).notNull()
                t.column("lower", .double)
                t.column("upper", .double)
                t.column("withinLimits", .boolean).notNull()
            }
            try db.create(table: "artifact") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("caseId", .integer).notNull().indexed().references("case", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("content", .text).notNull()
            }
        }
        migrator.registerMigration("v2: qualifications") { db in
            // One row per `otabench qualify`, so the next one compares with it.
            try db.create(table: "qualification") { t in
                t.column("runId", .integer).primaryKey().references("run", onDelete: .cascade)
                t.column("release", .text).notNull()
                t.column("inventory", .text).notNull()
                t.column("verdict", .text).notNull()
                t.column("evidence", .text).notNull()
            }
        }
        migrator.registerMigration("v3: planned cases") { db in
            // Every planned case gets its row when the run starts (pending, or not applicable),
            // so a run stopped at any point still accounts for each; retries share the ordinal.
            try db.alter(table: "case") { t in t.add(column: "ordinal", .integer) }
        }
        return migrator
    }

    static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(.iso8601)
    }

    // MARK: Writing

    public func startRun(arguments: [String], inventory: String) throws -> Int64 {
        try queue.write { db in
            try db.execute(sql: "INSERT INTO run (started, host, version, arguments, inventory) VALUES (?, ?, ?, ?, ?)",
                           arguments: [Self.timestamp(), ProcessInfo.processInfo.hostName, BenchVersion.current,
                                       arguments.joined(separator: " "), inventory])
            return db.lastInsertedRowID
        }
    }

    public func finishRun(_ run: Int64, status: String) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE run SET finished = ?, status = ? WHERE id = ?", arguments: [Self.timestamp(), status, run])
        }
    }

    public func addBoard(run: Int64, name: String, platform: String, deviceID: String, emulated: Bool) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO board (runId, name, platform, deviceId, emulated) VALUES (?, ?, ?, ?, ?)",
                           arguments: [run, name, platform, deviceID, emulated])
        }
    }

    public func quarantine(run: Int64, board: String, reason: String) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE board SET quarantined = ? WHERE runId = ? AND name = ?", arguments: [reason, run, board])
        }
    }

    /// A case the run plans, written before anything runs.
    public struct PlannedCase: Sendable {
        public var board: String
        public var platform: String
        public var scenario: String
        public var argument: String?
        /// `.pending` for a case that will run, `.notApplicable` or `.notRun` (with the reason) for one that will not.
        public var status: CaseStatus
        public var reason: String?

        public init(board: String, platform: String, scenario: String, argument: String?, status: CaseStatus = .pending, reason: String? = nil) {
            self.board = board
            self.platform = platform
            self.scenario = scenario
            self.argument = argument
            self.status = status
            self.reason = reason
        }
    }

    /// Writes every planned case in one transaction; returns their row ids, in order.
    public func plan(run: Int64, _ cases: [PlannedCase]) throws -> [Int64] {
        try queue.write { db in
            try cases.enumerated().map { ordinal, item in
                try db.execute(sql: """
                    INSERT INTO "case" (runId, board, platform, scenario, argument, attempt, status, started, seconds, message, ordinal)
                    VALUES (?, ?, ?, ?, ?, 1, ?, ?, 0, ?, ?)
                    """, arguments: [run, item.board, item.platform, item.scenario, item.argument, item.status.rawValue,
                                     Self.timestamp(), item.reason, ordinal])
                return db.lastInsertedRowID
            }
        }
    }

    /// A planned case that will not run after all, and why.
    public func markNotRun(_ id: Int64, reason: String) throws {
        try queue.write { db in
            try db.execute(sql: #"UPDATE "case" SET status = 'not-run', message = ? WHERE id = ? AND status = 'pending'"#, arguments: [reason, id])
        }
    }

    /// After SIGINT or SIGTERM: the cases in flight are interrupted, the ones not reached not run.
    /// Safe to call while cases still finish: it touches only rows still running or pending.
    public func markInterrupted(run: Int64, signal: String) throws {
        try queue.write { db in
            try db.execute(sql: #"UPDATE "case" SET status = 'interrupted', message = ? WHERE runId = ? AND status = 'running'"#,
                           arguments: ["interrupted by \(signal) while it ran", run])
            try db.execute(sql: #"UPDATE "case" SET status = 'not-run', message = ? WHERE runId = ? AND status = 'pending'"#,
                           arguments: ["not run: the run was interrupted by \(signal) before this case started", run])
            try db.execute(sql: "UPDATE run SET finished = ?, status = 'interrupted' WHERE id = ?", arguments: [Self.timestamp(), run])
        }
    }

    /// Starts an attempt of a case: the first takes the case's planned row (`planned`), a rerun gets a row of its own.
    public func startCase(run: Int64, board: String, platform: String, scenario: String, argument: String?, attempt: Int,
                          planned: Int64? = nil) throws -> Int64 {
        try queue.write { db in
            if let planned, attempt == 1 {
                try db.execute(sql: #"UPDATE "case" SET status = 'running', started = ?, seconds = NULL, message = NULL WHERE id = ?"#,
                               arguments: [Self.timestamp(), planned])
                return planned
            }
            let ordinal = try planned.flatMap { try Int64.fetchOne(db, sql: #"SELECT ordinal FROM "case" WHERE id = ?"#, arguments: [$0]) }
            try db.execute(sql: """
                INSERT INTO "case" (runId, board, platform, scenario, argument, attempt, status, started, ordinal)
                VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)
                """, arguments: [run, board, platform, scenario, argument, attempt, Self.timestamp(), ordinal])
            return db.lastInsertedRowID
        }
    }

    /// `consoleLog`: the board's captured console file, kept with every case it ran.
    public func finishCase(_ id: Int64, status: CaseStatus, seconds: Double, message: String?, knownIssue: String?, console: [String],
                           consoleLog: String? = nil) throws {
        try queue.write { db in
            try db.execute(sql: #"UPDATE "case" SET status = ?, seconds = ?, message = ?, knownIssue = ? WHERE id = ?"#,
                           arguments: [status.rawValue, seconds, message, knownIssue, id])
            if status != .passed, !console.isEmpty {
                try db.execute(sql: "INSERT INTO artifact (caseId, name, content) VALUES (?, 'console', ?)",
                               arguments: [id, console.suffix(500).joined(separator: "\n")])
            }
            if let consoleLog {
                try db.execute(sql: "INSERT INTO artifact (caseId, name, content) VALUES (?, 'console-log', ?)", arguments: [id, consoleLog])
            }
        }
    }

    public func addStep(case id: Int64, name: String, failure: String?, seconds: Double) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT INTO step (caseId, name, status, seconds, message) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, name, failure == nil ? "passed" : "failed", seconds, failure])
        }
    }

    public func addMeasurement(case id: Int64, _ measurement: ScenarioAPI.Measurement) throws {
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO measurement (caseId, name, value, unit, lower, upper, withinLimits) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, measurement.name, measurement.value, measurement.unit, measurement.lower, measurement.upper,
                                 measurement.withinLimits])
        }
    }
}

public enum ResultsStoreError: Error, CustomStringConvertible {
    case missing(String)
    case notADatabase(String, String)

    public var description: String {
        switch self {
        case .missing(let path): "no results database at \(path); run `otabench run` first, or give --db"
        case .notADatabase(let path, let why): "\(path) is not an otabench results database: \(why); give another --db"
        }
    }
}

/// How a case ended, or why it did not run.
public enum CaseStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case passed
    case failed
    /// Failed first, passed on a retry.
    case flaky
    /// Failed as a known issue says it does on this platform.
    case knownFailure = "known-failure"
    /// A known issue that did not happen: the firmware changed, or the issue is gone.
    case unexpectedPass = "unexpected-pass"
    /// Planned for a board that cannot run it (a capability or platform it lacks): listed,
    /// no effect on the verdict.
    case notApplicable = "not-applicable"
    /// Planned and runnable, but not run: the board leased by another holder, quarantined,
    /// power-unverified, or the run interrupted before the case started. The run is incomplete.
    case notRun = "not-run"
    /// Planned, not started yet; a run that ends with one left was killed before reaching it.
    case pending
    /// Started, and stopped by SIGINT or SIGTERM before it ended.
    case interrupted
    /// Still running when the run ended (the process was killed).
    case running

    /// Whether the run fails because of it.
    public var failsRun: Bool { self == .failed || self == .running }
    /// Whether the case was left unrun or unfinished, which makes the run incomplete.
    public var leavesRunIncomplete: Bool { self == .notRun || self == .pending || self == .interrupted }
    /// Whether the case's body ran to an outcome.
    public var executed: Bool { [.passed, .failed, .flaky, .knownFailure, .unexpectedPass].contains(self) }

    /// A status read back from a database, including the names of older versions.
    public init(stored: String) {
        self = CaseStatus(rawValue: stored) ?? (stored == "skipped" ? .notRun : .running)
    }
}

/// The verdict of a run, from its cases: the one word a report leads with.
public enum RunVerdict: String, Hashable, Sendable, Codable {
    /// Every runnable case ran, and none failed.
    case passed = "PASSED"
    /// A case failed (or never finished).
    case failed = "FAILED"
    /// No case failed, but some did not run, or none ran at all: nothing to call green.
    case incomplete = "INCOMPLETE"
    /// Stopped by SIGINT or SIGTERM.
    case interrupted = "INTERRUPTED"
    /// The run has not recorded its end: it is still running, or it was killed.
    case unfinished = "UNFINISHED"

    /// The verdict of finished cases; `interrupted` when the run was stopped by a signal.
    public static func of(_ statuses: [CaseStatus], interrupted: Bool) -> RunVerdict {
        if interrupted { return .interrupted }
        if statuses.contains(where: \.failsRun) { return .failed }
        if statuses.contains(where: \.leavesRunIncomplete) || !statuses.contains(where: \.executed) { return .incomplete }
        return .passed
    }

    /// Why the verdict is what it is, in one line.
    public static func reason(_ statuses: [CaseStatus], verdict: RunVerdict) -> String {
        let notRun = statuses.filter(\.leavesRunIncomplete).count
        let executed = statuses.filter(\.executed).count
        switch verdict {
        case .passed: return "\(executed) cases ran, none failed"
        case .failed: return "\(statuses.filter(\.failsRun).count) of \(executed + statuses.filter { $0 == .running }.count) cases failed"
        case .incomplete:
            return notRun == 0 ? "no case ran" : "\(notRun) planned cases did not run" + (executed == 0 ? "; none ran" : "")
        case .interrupted: return "stopped by a signal: \(executed) cases ran, \(notRun) did not run or were cut short"
        case .unfinished: return "the run has not recorded its end: it is still running, or it was killed"
        }
    }

    /// The exit status a command ends with for this verdict (interrupted: the signal's 128 + n).
    public func exitStatus(signal: Int32? = nil) -> Int32 {
        switch self {
        case .passed: 0
        case .failed: 1
        case .incomplete, .unfinished: 3
        case .interrupted: 128 + (signal ?? 2)
        }
    }
}
