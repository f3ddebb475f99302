import Foundation
import GRDB

/// The results database (SQLite through GRDB): runs, boards, cases, steps, measurements,
/// artifacts. Every step and case is written when it ends, in its own transaction, so a run
/// killed at any moment keeps everything that finished.
public final class ResultsStore: Sendable {
    public let path: String
    let queue: DatabaseQueue

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // WAL with synchronous=NORMAL: a committed step survives the process being killed
        // (only an operating-system crash can lose the last commits), at a fraction of the fsyncs.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
        self.path = path
        try Self.migrator.migrate(queue)
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

    public func startCase(run: Int64, board: String, platform: String, scenario: String, argument: String?, attempt: Int) throws -> Int64 {
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO "case" (runId, board, platform, scenario, argument, attempt, status, started)
                VALUES (?, ?, ?, ?, ?, ?, 'running', ?)
                """, arguments: [run, board, platform, scenario, argument, attempt, Self.timestamp()])
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

    public func addMeasurement(case id: Int64, _ measurement: Measurement) throws {
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO measurement (caseId, name, value, unit, lower, upper, withinLimits) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, measurement.name, measurement.value, measurement.unit, measurement.lower, measurement.upper,
                                 measurement.withinLimits])
        }
    }
}

/// How a case ended.
public enum CaseStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case passed
    case failed
    /// Failed first, passed on a retry.
    case flaky
    /// Failed as a known issue says it does on this platform.
    case knownFailure = "known-failure"
    /// A known issue that did not happen: the firmware changed, or the issue is gone.
    case unexpectedPass = "unexpected-pass"
    /// Not run: the board was quarantined.
    case skipped
    /// Still running when the run ended (the process was killed).
    case running

    /// Whether the run fails because of it.
    public var failsRun: Bool { self == .failed || self == .running }
}
