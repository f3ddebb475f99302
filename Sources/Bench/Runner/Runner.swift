import Scenarios
import Boards
import ScenarioAPI
import Foundation
import Links
import Logging
import NIOConcurrencyHelpers

/// Runs scenario cases on boards: boards in parallel (each one case at a time), timeouts on
/// every step and case, retries with flaky marking, known issues, a recovery ladder after a
/// failure, and every result written as it ends.
public struct Runner: Sendable {
    public var scenarios: [Scenario]
    public var boards: [BoardUnderTest]
    public var store: ResultsStore?
    public var options: RunOptions
    public var progress: ProgressReporter
    /// What the run does as it goes, at debug: each case's start, steps, measurements and end,
    /// the recovery ladder's rungs and each board's power check.
    public var logger: Logger

    public init(scenarios: [Scenario] = ScenarioLibrary.all, boards: [BoardUnderTest], store: ResultsStore?, options: RunOptions,
                progress: ProgressReporter = ProgressReporter(output: nil), logger: Logger = Logger(label: "otabench.run")) {
        self.scenarios = scenarios
        self.boards = boards
        self.store = store
        self.options = options
        self.progress = progress
        self.logger = logger
    }

    /// The cases each board will run.
    public func plan() -> [(board: BoardUnderTest, cases: [(Scenario, ScenarioCase)])] {
        let selected = scenarios.filter(options.selects)
        return selectedBoards.map { entry in
            let cases = selected.filter { $0.requirements.met(by: entry.board) }.flatMap { scenario in
                scenario.cases(cutPoints: options.cutPoints).map { (scenario, $0) }
            }
            let repeated = (0..<max(1, options.repeatCount)).flatMap { _ in cases }
            return (entry, repeated)
        }.filter { !$0.cases.isEmpty }
    }

    /// The selected cases a selected board cannot run, each with what it lacks: listed in every
    /// report as not applicable, without effect on the verdict.
    public func notApplicable() -> [(board: BoardUnderTest, scenarioCase: ScenarioCase, reason: String)] {
        let selected = scenarios.filter(options.selects)
        return selectedBoards.flatMap { entry in
            selected.compactMap { scenario in scenario.requirements.unmet(by: entry.board).map { (scenario, $0) } }
                .flatMap { scenario, reason in scenario.cases(cutPoints: options.cutPoints).map { (entry, $0, reason) } }
        }
    }

    private var selectedBoards: [BoardUnderTest] {
        boards.filter { entry in
            (options.boardNames.isEmpty || options.boardNames.contains(entry.board.name))
                && (options.platforms.isEmpty || options.platforms.contains(entry.board.platform.buildName))
        }
    }

    /// One planned case: what runs, and the row the results hold for it from the start.
    struct PlannedCase: Sendable {
        var scenario: Scenario
        var scenarioCase: ScenarioCase
        var row: Int64?
    }

    /// Runs the plan. Every planned case is written to the results first (pending, not
    /// applicable, or not run with the reason), then `started` is called with the run's id,
    /// before any case runs. Cancelling the task stops the run: the case in flight ends as
    /// interrupted, the rest as not run, and the run's verdict is INTERRUPTED.
    ///
    /// Throws `BoardLease.Failure.unusable` before anything runs when a lease cannot be checked.
    public func run(arguments: [String] = [], inventory: String = "",
                    started: (@Sendable (Int64) async throws -> Void)? = nil) async throws -> RunSummary {
        let startTime = ContinuousClock.now
        let plan = plan()
        let notApplicable = notApplicable()
        // Boards on USB are shared with every other process of the host: each is leased for
        // the whole run. Emulated boards live in this process and need none.
        var leases: [BoardLease] = []
        var leasedElsewhere: [String: String] = [:]
        if let directory = options.leaseDirectory {
            for (entry, _) in plan where !entry.emulated {
                switch Result(catching: { () throws(BoardLease.Failure) in try BoardLease(board: entry.board.leaseKey, directory: directory) }) {
                case .success(let lease):
                    if let previous = lease.tookOverFrom {
                        progress.note("\(entry.board.name): took over the lease of a holder that is gone (\(previous))")
                    }
                    leases.append(lease)
                case .failure(.held(_, let holder, _)):
                    leasedElsewhere[entry.board.name] = "not run: \(entry.board.name) is leased by \(holder)"
                case .failure(let failure):
                    throw failure
                }
            }
        }
        defer { withExtendedLifetime(leases) {} }

        let runID = try store?.startRun(arguments: arguments, inventory: inventory)
        var rows: [Int64] = []
        if let runID, let store {
            for entry in Set(plan.map(\.board.board.name) + notApplicable.map(\.board.board.name)).sorted() {
                guard let board = boards.first(where: { $0.board.name == entry }) else { continue }
                try store.addBoard(run: runID, name: board.board.name, platform: board.board.platform.buildName,
                                   deviceID: board.board.deviceID, emulated: board.emulated)
            }
            var planned: [ResultsStore.PlannedCase] = []
            for (entry, cases) in plan {
                for (scenario, scenarioCase) in cases {
                    let held = leasedElsewhere[entry.board.name]
                    planned.append(.init(board: entry.board.name, platform: entry.board.platform.buildName, scenario: scenario.name,
                                         argument: scenarioCase.argument, status: held == nil ? .pending : .notRun, reason: held))
                }
            }
            for (entry, scenarioCase, reason) in notApplicable {
                planned.append(.init(board: entry.board.name, platform: entry.board.platform.buildName, scenario: scenarioCase.scenario,
                                     argument: scenarioCase.argument, status: .notApplicable, reason: "not applicable: \(reason)"))
            }
            rows = try store.plan(run: runID, planned)
        }
        var work: [(board: BoardUnderTest, cases: [PlannedCase])] = []
        var position = 0
        for (entry, cases) in plan {
            var planned: [PlannedCase] = []
            for (scenario, scenarioCase) in cases {
                planned.append(PlannedCase(scenario: scenario, scenarioCase: scenarioCase, row: rows.isEmpty ? nil : rows[position]))
                position += 1
            }
            work.append((entry, planned))
        }
        let held = leasedElsewhere
        if let runID { try await started?(runID) }

        progress.begin(total: work.reduce(0) { $0 + $1.cases.count })
        if !notApplicable.isEmpty { progress.note("\(notApplicable.count) cases not applicable to their boards (listed in the reports)") }
        let queue = WorkQueue(work)
        let workers = max(1, min(options.jobs, work.count))
        var results: [CaseResult] = []
        try await withThrowingTaskGroup(of: [CaseResult].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var collected: [CaseResult] = []
                    while let next = queue.next() {
                        collected += try await runBoard(next.board, cases: next.cases, runID: runID,
                                                        leasedElsewhere: held[next.board.board.name])
                    }
                    return collected
                }
            }
            for try await boardResults in group { results += boardResults }
        }
        results += notApplicable.map { entry, scenarioCase, reason in
            CaseResult(board: entry.board.name, platform: entry.board.platform.buildName, scenario: scenarioCase.scenario,
                       argument: scenarioCase.argument, status: .notApplicable, attempts: 0, seconds: 0,
                       message: "not applicable: \(reason)", knownIssue: nil)
        }
        let interrupted = Task.isCancelled
        let quarantined = Dictionary(results.filter { $0.status == .notRun && ($0.message ?? "").hasPrefix("board quarantined") }
                                        .map { ($0.board, $0.message ?? "") },
                                     uniquingKeysWith: { first, _ in first })
        let summary = RunSummary(runID: runID, results: results, quarantined: quarantined,
                                 seconds: (ContinuousClock.now - startTime).seconds, interrupted: interrupted)
        if let runID { try store?.finishRun(runID, status: summary.verdict.rawValue.lowercased()) }
        progress.end(summary)
        return summary
    }

    /// One board's cases in order.
    func runBoard(_ entry: BoardUnderTest, cases: [PlannedCase], runID: Int64?, leasedElsewhere: String?) async throws -> [CaseResult] {
        var results: [CaseResult] = []
        var quarantine: String? = leasedElsewhere
        /// nil: not checked yet; .some(nil): the switch cuts power; .some(reason): it does not.
        var powerVerdict: String??
        let board = entry.board
        func notRun(_ planned: PlannedCase, _ reason: String) throws {
            if let row = planned.row { try store?.markNotRun(row, reason: reason) }
            results.append(CaseResult(board: board.name, platform: board.platform.buildName, scenario: planned.scenario.name,
                                      argument: planned.scenarioCase.argument, status: .notRun, attempts: 0, seconds: 0,
                                      message: reason, knownIssue: nil))
            progress.caseEnded(results.last!)
        }
        for planned in cases {
            let scenario = planned.scenario
            if Task.isCancelled {
                try notRun(planned, "not run: the run was interrupted before this case started")
                continue
            }
            if let reason = quarantine {
                try notRun(planned, reason)
                continue
            }
            if !(await entry.isClean()), let reason = await recover(entry) {
                quarantine = "board quarantined: \(reason)"
                try store?.quarantine(run: runID ?? 0, board: board.name, reason: reason)
                try notRun(planned, quarantine!)
                continue
            }
            if scenario.requirements.capabilities.contains(.powerControl) {
                // Proven once per board, before the first scenario that cuts its power.
                if powerVerdict == nil {
                    let limits = entry.emulated ? options.emulatedPowerCheck : options.powerCheck
                    let problem = await PowerCutVerification.check(board, limits: limits)
                    powerVerdict = .some(problem)
                    logger.debug("power check: \(problem.map { "does not cut power: \($0)" } ?? "the switch cuts power")",
                                 metadata: ["board": "\(board.name)"])
                }
                if case .some(.some(let reason)) = powerVerdict {
                    try notRun(planned, "power-unverified: \(reason)")
                    continue
                }
            }
            let result = try await runCase(scenario, planned.scenarioCase, on: entry, runID: runID, row: planned.row)
            results.append(result)
            progress.caseEnded(result)
            // After anything but a pass the ladder runs from its first rung, even if the board
            // looks clean: a failed case can leave state behind that no module shows (flags in RAM).
            if result.status != .passed, !Task.isCancelled, let reason = await recover(entry) {
                quarantine = "board quarantined: \(reason)"
                try store?.quarantine(run: runID ?? 0, board: board.name, reason: reason)
            }
        }
        if let quarantine, leasedElsewhere == nil { progress.note("\(entry.board.name): \(quarantine)") }
        return results
    }

    /// Runs a case with its retries; a known issue decides what a failure means.
    func runCase(_ scenario: Scenario, _ scenarioCase: ScenarioCase, on entry: BoardUnderTest, runID: Int64?, row: Int64? = nil) async throws -> CaseResult {
        let board = entry.board
        let knownIssue = scenario.knownIssue(on: board.platform)
        let attempts = knownIssue == nil ? 1 + max(0, options.retries) : 1
        var lastFailure: String?
        var totalSeconds = 0.0
        for attempt in 1...attempts {
            if attempt > 1, !(await entry.isClean()) { _ = await recover(entry) }
            let caseID = try store?.startCase(run: runID ?? 0, board: board.name, platform: board.platform.buildName,
                                              scenario: scenario.name, argument: scenarioCase.argument, attempt: attempt, planned: row)
            // Nothing the case records may come from the one before: the board forgets the last
            // power cut, the events not taken and the console lines printed before this point.
            await board.beginCase()
            var caseLogger = logger
            caseLogger[metadataKey: "board"] = "\(board.name)"
            caseLogger[metadataKey: "case"] = "\(scenarioCase.id)"
            if attempts > 1 { caseLogger[metadataKey: "attempt"] = "\(attempt)/\(attempts)" }
            caseLogger.debug("case started")
            let recorder = CaseRecorder(store: store, caseID: caseID ?? 0, logger: caseLogger)
            let context = ScenarioContext(board: board, firmware: entry.firmware, recorder: recorder, stepTimeout: options.stepTimeout,
                                          clock: options.clock)
            let started = ContinuousClock.now
            var failure: String?
            var console: [String] = []
            do {
                try await withTimeout(options.caseTimeout ?? scenario.timeout, what: "case \(scenarioCase.id)", clock: options.clock) {
                    try await scenarioCase.body(context)
                }
            } catch let error as ExpectationFailure {
                failure = error.description
                console = error.console
            } catch {
                failure = "\(error)"
                console = await context.consoleLines()
            }
            let seconds = (ContinuousClock.now - started).seconds
            totalSeconds += seconds
            let issueText = knownIssue.map { "\($0.reason) (\($0.source))" }
            let status: CaseStatus
            let message: String?
            let interrupted = Task.isCancelled
            switch (failure, issueText) {
            // Stopped from outside: whatever the body said as it was torn down is no verdict.
            case _ where interrupted: (status, message) = (.interrupted, "interrupted while it ran" + (failure.map { " (\($0))" } ?? ""))
            case (nil, nil): (status, message) = (attempt == 1 ? .passed : .flaky, nil)
            case (nil, let issue?): (status, message) = (.unexpectedPass, "passed, but a known issue says it fails: \(issue)")
            case (let failure?, .some): (status, message) = (.knownFailure, failure)
            case (let failure?, nil): (status, message) = (.failed, failure)
            }
            caseLogger.debug("case ended: \(status.rawValue) in \(String(format: "%.2f", seconds)) s\(message.map { ": \($0)" } ?? "")")
            if let caseID {
                try store?.finishCase(caseID, status: status, seconds: seconds, message: message, knownIssue: issueText, console: console,
                                      consoleLog: await board.facet((any Console).self)?.log?.path)
            }
            lastFailure = failure
            if failure == nil || interrupted || knownIssue != nil || attempt == attempts {
                return CaseResult(board: board.name, platform: board.platform.buildName, scenario: scenario.name,
                                  argument: scenarioCase.argument, status: status, attempts: attempt, seconds: totalSeconds,
                                  message: message, knownIssue: issueText)
            }
        }
        return CaseResult(board: board.name, platform: board.platform.buildName, scenario: scenario.name,
                          argument: scenarioCase.argument, status: .failed, attempts: attempts, seconds: totalSeconds,
                          message: lastFailure, knownIssue: nil)
    }

    /// The recovery ladder: reset, reflash the known-good firmware by DFU, power cycle; nil
    /// when the board is clean again, otherwise why it must be quarantined.
    func recover(_ entry: BoardUnderTest) async -> String? {
        let board = entry.board
        var attempts: [String] = []
        var logger = logger
        logger[metadataKey: "board"] = "\(board.name)"
        func cleanAfter(_ rung: String) -> String? {
            logger.debug("recovery: clean after \(rung)\(attempts.isEmpty ? "" : " (before it: \(attempts.joined(separator: "; ")))")")
            return nil
        }
        if let modes = board.facet((any ModeControl).self) {
            do {
                try await modes.reset()
                if await entry.isClean() { return cleanAfter("a reset") }
                attempts.append("reset left it \(await board.mode())")
            } catch { attempts.append("reset failed: \(error)") }
        }
        if let dfu = board.facet((any DFUFlashing).self) {
            do {
                for image in entry.cleanImages { try await dfu.flash(image) }
                if await entry.isClean() { return cleanAfter("a DFU reflash") }
                attempts.append("DFU reflash left it \(await board.mode())")
            } catch { attempts.append("DFU reflash failed: \(error)") }
        }
        if let power = board.facet((any PowerControl).self) {
            do {
                try await power.powerOff()
                try await power.powerOn()
                _ = try await board.waitUntilUp(timeout: .seconds(30))
                if await entry.isClean() { return cleanAfter("a power cycle") }
                attempts.append("power cycle left it \(await board.mode())")
            } catch { attempts.append("power cycle failed: \(error)") }
        }
        logger.debug("recovery failed: \(attempts.joined(separator: "; "))")
        return attempts.joined(separator: "; ")
    }
}

/// Boards waiting for a worker.
final class WorkQueue<Item: Sendable>: Sendable {
    private let items: NIOLockedValueBox<[Item]>

    init(_ items: [Item]) { self.items = NIOLockedValueBox(items.reversed()) }

    func next() -> Item? { items.withLockedValue { $0.popLast() } }
}
