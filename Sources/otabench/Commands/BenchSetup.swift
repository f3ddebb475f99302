import Bench
import Foundation

/// What `run` and `qualify` both set up before a run: the inventory, its boards, the results
/// database. Each failure is one clear line and exit status 2.
enum BenchSetup {
    /// `path`, else Boards/emulated.toml, else one emulated board per platform.
    static func inventory(_ path: String?, verb: String) throws -> Inventory {
        do {
            if let path { return try Inventory.load(path) }
            if FileManager.default.fileExists(atPath: "Boards/emulated.toml") { return try Inventory.load("Boards/emulated.toml") }
            return Inventory.defaultEmulated
        } catch {
            reportError("\(verb): inventory: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
    }

    /// The inventory's boards, their console logs going to REPORT_DIR/console.
    static func boards(_ inventory: Inventory, reportDir: String, verb: String) throws -> [BoardUnderTest] {
        do {
            let consoleDirectory = URL(fileURLWithPath: reportDir).appendingPathComponent("console")
            return try inventory.entries.enumerated().map { try BoardUnderTest.make($1, serial: $0 + 1, consoleDirectory: consoleDirectory, cloud: inventory.cloud) }
        } catch {
            reportError("\(verb): cannot set up the boards: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
    }

    /// `--lease-dir`, else $OTABENCH_LEASE_DIR, else the host's own folder every user shares.
    static func leaseDirectory(_ option: String?) -> String {
        option ?? ProcessInfo.processInfo.environment["OTABENCH_LEASE_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? BoardLease.hostDirectory
    }

    /// `db`, else REPORT_DIR/results.sqlite.
    static func store(_ db: String?, reportDir: String, verb: String) throws -> ResultsStore {
        let path = db ?? (reportDir as NSString).appendingPathComponent("results.sqlite")
        do { return try ResultsStore(path: path) } catch let error as ResultsStoreError {
            reportError("\(verb): \(error)")
            throw ExitStatus.couldNotRun.exitCode
        } catch {
            reportError("\(verb): cannot open the results database \(path): \(FileProblem.describe(error)); give --db a writable place")
            throw ExitStatus.couldNotRun.exitCode
        }
    }
}
