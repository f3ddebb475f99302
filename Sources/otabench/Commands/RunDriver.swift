import Bench
import Foundation
import Synchronization

/// Drives a run for `run` and `qualify`: the reports of the new run replace the old ones before
/// any case runs (so the folder never shows an older verdict under the names this run uses),
/// SIGINT and SIGTERM stop it with the cases in flight recorded as interrupted and the reports
/// written with the verdict INTERRUPTED, and the final reports are written when it ends.
struct RunDriver {
    var runner: Runner
    var store: ResultsStore
    /// Where the run's JUnit, JSON and HTML go; nil writes none (the caller renders its own).
    var reportDir: String?
    var verb: String
    /// How long the cases in flight get to stop after the first signal; a second signal stops at once.
    var gracePeriod: Duration = .seconds(30)

    struct Outcome {
        var summary: RunSummary
        var report: RunReport
        /// The signal that stopped the run, if one did.
        var signal: Int32?
        var exitStatus: Int32 { report.verdict.exitStatus(signal: signal) }
    }

    /// Fails with exit 2 before anything runs when a folder cannot take the reports.
    static func checkWritable(_ folder: String, verb: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let probe = (folder as NSString).appendingPathComponent(".otabench-write-check-\(getpid())")
            try AtomicFile.write([], to: probe)
            unlink(probe)
        } catch let error as AtomicFileError {
            reportError("\(verb): cannot write reports to \(folder): \(String(cString: strerror(error.code))); give --report-dir a folder you can write")
            throw ExitStatus.couldNotRun.exitCode
        } catch {
            reportError("\(verb): cannot make the report folder \(folder): \(FileProblem.describe(error)); give --report-dir a folder you can write")
            throw ExitStatus.couldNotRun.exitCode
        }
    }

    func drive(arguments: [String], inventory: String) async throws -> Outcome {
        StopSignals.watch()
        let state = DriveState()
        let (store, reportDir, verb, gracePeriod) = (store, reportDir, verb, gracePeriod)
        let runner = runner
        let running = Task {
            try await runner.run(arguments: arguments, inventory: inventory) { id in
                state.runID.withLock { $0 = id }
                if let reportDir { _ = try ReportFormat.write(try store.report(run: id), formats: ReportFormat.allCases, to: reportDir) }
            }
        }
        // The watcher outlives nothing: it exits the process itself only when the run will not stop.
        let watcher = Task.detached {
            guard let signal = await StopSignals.next() else { return }
            let taken = state.stop.withLock { stop -> Bool in
                guard !stop.finished else { return false }
                stop.signal = signal
                return true
            }
            guard taken else { return }
            reportError("\(verb): \(StopSignals.name(signal)): stopping the cases in flight, then writing the reports (again to stop at once)")
            running.cancel()
            // Why the run stops now: a second signal, or the grace period ran out; nil when
            // the wait for a second signal ended without one.
            let forced = await withTaskGroup(of: String?.self) { group in
                group.addTask { await StopSignals.next().map { "a second \(StopSignals.name($0)) came" } }
                group.addTask { try? await Task.sleep(for: gracePeriod); return "the run did not stop within \(gracePeriod)" }
                defer { group.cancelAll() }
                return await group.next() ?? nil
            }
            guard let forced, !state.stop.withLock({ $0.finished }) else { return }
            // The cases in flight did not stop in time: record them as interrupted and leave.
            if let id = state.runID.withLock({ $0 }) {
                try? store.markInterrupted(run: id, signal: StopSignals.name(signal))
                if let reportDir, let report = try? store.report(run: id) {
                    _ = try? ReportFormat.write(report, formats: ReportFormat.allCases, to: reportDir)
                }
            }
            reportError("\(verb): \(forced); exiting with the cases in flight recorded as interrupted")
            Foundation.exit(128 + signal)
        }
        let summary: RunSummary
        do {
            summary = try await running.value
        } catch let error as BoardLease.Failure {
            reportError("\(verb): \(error); fix the lease folder or give --lease-dir (no board was touched)")
            throw ExitStatus.couldNotRun.exitCode
        }
        let signal = state.stop.withLock { stop -> Int32? in
            stop.finished = true
            return stop.signal
        }
        // Done: the watcher stops waiting for a signal, unless one already came.
        if signal == nil { watcher.cancel() }
        guard let id = summary.runID ?? state.runID.withLock({ $0 }) else { throw ExitStatus.couldNotRun.exitCode }
        if let signal { try store.markInterrupted(run: id, signal: StopSignals.name(signal)) }
        let report = try store.report(run: id)
        if let reportDir {
            do {
                let written = try ReportFormat.write(report, formats: ReportFormat.allCases, to: reportDir)
                FileHandle.standardError.write(Data("reports: \(written.joined(separator: ", "))\n".utf8))
            } catch {
                reportError("\(verb): the results are in \(store.path), but the reports could not be written: \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
        return Outcome(summary: summary, report: report, signal: signal)
    }
}

/// What the run and its signal watcher share.
private final class DriveState: Sendable {
    let runID = Mutex<Int64?>(nil)
    // The signal taken and whether the run had finished, in one hold: a signal either
    // stops the run and is recorded, or comes after the run finished and changes nothing.
    let stop = Mutex<(signal: Int32?, finished: Bool)>((nil, false))
}
