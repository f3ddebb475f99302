import Foundation
import Synchronization

/// Runs scenario cases on boards: boards in parallel (each one case at a time), timeouts on
/// every step and case, retries with flaky marking, known issues, a recovery ladder after a
/// failure, and every result written as it ends.
public struct Runner: Sendable {
    public var scenarios: [Scenario]
    public var boards: [BenchBoard]
    public var store: ResultsStore?
    public var options: RunOptions
    public var progress: ProgressReporter

    public init(scenarios: [Scenario], boards: [BenchBoard], store: ResultsStore?, options: RunOptions,
                progress: ProgressReporter = ProgressReporter(output: nil)) {
        self.scenarios = scenarios
        self.boards = boards
        self.store = store
        self.options = options
        self.progress = progress
    }

    /// The cases each board will run.
    public func plan() -> [(board: BenchBoard, cases: [(Scenario, ScenarioCase)])] {
        let selected = scenarios.filter(options.selects)
        return boards.filter { entry in
            (options.boardNames.isEmpty || options.boardNames.contains(entry.board.name))
                && (options.platforms.isEmpty || options.platforms.contains(entry.board.platform.buildName))
        }.map { entry in
            let cases = selected.filter { $0.requirements.met(by: entry.board) }.flatMap { scenario in
                scenario.cases(cutPoints: options.cutPoints).map { (scenario, $0) }
            }
            let repeated = (0..<max(1, options.repeatCount)).flatMap { _ in cases }
            return (entry, repeated)
        }.filter { !$0.cases.isEmpty }
    }

    public func run(arguments: [String] = [], inventory: String = "") async throws -> RunSummary {
        let started = ContinuousClock.now
        let plan = plan()
        let runID = try store?.startRun(arguments: arguments, inventory: inventory)
        if let runID {
            for (entry, _) in plan {
                try store?.addBoard(run: runID, name: entry.board.name, platform: entry.board.platform.buildName,
                                    deviceID: entry.board.deviceID, emulated: entry.emulated)
            }
        }
        progress.begin(total: plan.reduce(0) { $0 + $1.cases.count })
        let queue = WorkQueue(plan)
        let workers = max(1, min(options.jobs, plan.count))
        var results: [CaseResult] = []
        try await withThrowingTaskGroup(of: [CaseResult].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var collected: [CaseResult] = []
                    while let next = queue.next() {
                        collected += try await runBoard(next.board, cases: next.cases, runID: runID)
                    }
                    return collected
                }
            }
            for try await boardResults in group { results += boardResults }
        }
        let quarantined = Dictionary(results.filter { $0.status == .skipped && !($0.message ?? "").hasPrefix("power-unverified") }.map { ($0.board, $0.message ?? "") },
                                     uniquingKeysWith: { first, _ in first })
        let summary = RunSummary(runID: runID, results: results, quarantined: quarantined,
                                 seconds: (ContinuousClock.now - started).seconds)
        if let runID { try store?.finishRun(runID, status: summary.passed ? "passed" : "failed") }
        progress.end(summary)
        return summary
    }

    /// One board's cases in order.
    func runBoard(_ entry: BenchBoard, cases: [(Scenario, ScenarioCase)], runID: Int64?) async throws -> [CaseResult] {
        var results: [CaseResult] = []
        var quarantine: String?
        /// nil: not checked yet; .some(nil): the switch cuts power; .some(reason): it does not.
        var powerVerdict: String??
        var lease: BoardLease?
        if let directory = options.leaseDirectory {
            do {
                lease = try BoardLease(board: entry.board.name, directory: directory)
            } catch {
                // Someone else has the board: its cases are skipped, saying who.
                quarantine = "not run: \(error)"
            }
        }
        defer { withExtendedLifetime(lease) {} }
        for (scenario, scenarioCase) in cases {
            let board = entry.board
            if let reason = quarantine {
                results.append(CaseResult(board: board.name, platform: board.platform.buildName, scenario: scenario.name,
                                          argument: scenarioCase.argument, status: .skipped, attempts: 0, seconds: 0,
                                          message: reason, knownIssue: nil))
                progress.caseEnded(results.last!)
                continue
            }
            if !(await entry.isClean()), let reason = await recover(entry) {
                quarantine = "board quarantined: \(reason)"
                try store?.quarantine(run: runID ?? 0, board: board.name, reason: reason)
                results.append(CaseResult(board: board.name, platform: board.platform.buildName, scenario: scenario.name,
                                          argument: scenarioCase.argument, status: .skipped, attempts: 0, seconds: 0,
                                          message: quarantine, knownIssue: nil))
                progress.caseEnded(results.last!)
                continue
            }
            if scenario.requirements.capabilities.contains(.powerControl) {
                // Proven once per board, before the first scenario that cuts its power.
                if powerVerdict == nil {
                    let limits = entry.emulated ? options.emulatedPowerCheck : options.powerCheck
                    powerVerdict = .some(await PowerCutVerification.check(board, limits: limits))
                }
                if case .some(.some(let reason)) = powerVerdict {
                    results.append(CaseResult(board: board.name, platform: board.platform.buildName, scenario: scenario.name,
                                              argument: scenarioCase.argument, status: .skipped, attempts: 0, seconds: 0,
                                              message: "power-unverified: \(reason)", knownIssue: nil))
                    progress.caseEnded(results.last!)
                    continue
                }
            }
            let result = try await runCase(scenario, scenarioCase, on: entry, runID: runID)
            results.append(result)
            progress.caseEnded(result)
            // After anything but a pass the ladder runs from its first rung, even if the board
            // looks clean: a failed case can leave state behind that no module shows (flags in RAM).
            if result.status != .passed, let reason = await recover(entry) {
                quarantine = "board quarantined: \(reason)"
                try store?.quarantine(run: runID ?? 0, board: board.name, reason: reason)
            }
        }
        if let quarantine { progress.note("\(entry.board.name): \(quarantine)") }
        return results
    }

    /// Runs a case with its retries; a known issue decides what a failure means.
    func runCase(_ scenario: Scenario, _ scenarioCase: ScenarioCase, on entry: BenchBoard, runID: Int64?) async throws -> CaseResult {
        let board = entry.board
        let knownIssue = scenario.knownIssue(on: board.platform)
        let attempts = knownIssue == nil ? 1 + max(0, options.retries) : 1
        var lastFailure: String?
        var totalSeconds = 0.0
        for attempt in 1...attempts {
            if attempt > 1, !(await entry.isClean()) { _ = await recover(entry) }
            let caseID = try store?.startCase(run: runID ?? 0, board: board.name, platform: board.platform.buildName,
                                              scenario: scenario.name, argument: scenarioCase.argument, attempt: attempt)
            let recorder = CaseRecorder(store: store, caseID: caseID ?? 0)
            let context = ScenarioContext(board: board, firmware: entry.firmware, recorder: recorder, stepTimeout: options.stepTimeout)
            let started = ContinuousClock.now
            var failure: String?
            var console: [String] = []
            do {
                try await withTimeout(options.caseTimeout ?? scenario.timeout, what: "case \(scenarioCase.id)") {
                    try await scenarioCase.body(context)
                }
            } catch let error as ExpectationFailure {
                failure = error.description
                console = error.console
            } catch {
                failure = "\(error)"
                console = await board.consoleLines()
            }
            let seconds = (ContinuousClock.now - started).seconds
            totalSeconds += seconds
            let issueText = knownIssue.map { "\($0.reason) (\($0.source))" }
            let status: CaseStatus
            let message: String?
            switch (failure, issueText) {
            case (nil, nil): (status, message) = (attempt == 1 ? .passed : .flaky, nil)
            case (nil, let issue?): (status, message) = (.unexpectedPass, "passed, but a known issue says it fails: \(issue)")
            case (let failure?, .some): (status, message) = (.knownFailure, failure)
            case (let failure?, nil): (status, message) = (.failed, failure)
            }
            if let caseID {
                try store?.finishCase(caseID, status: status, seconds: seconds, message: message, knownIssue: issueText, console: console,
                                      consoleLog: await board.consoleLog?.path)
            }
            lastFailure = failure
            if failure == nil || knownIssue != nil || attempt == attempts {
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
    func recover(_ entry: BenchBoard) async -> String? {
        let board = entry.board
        var attempts: [String] = []
        do {
            try await board.reset()
            if await entry.isClean() { return nil }
            attempts.append("reset left it \(await board.mode())")
        } catch { attempts.append("reset failed: \(error)") }
        do {
            for image in entry.cleanImages { try await board.flash(image, via: .dfu) }
            if await entry.isClean() { return nil }
            attempts.append("DFU reflash left it \(await board.mode())")
        } catch { attempts.append("DFU reflash failed: \(error)") }
        if board.capabilities.contains(.powerControl) {
            do {
                try await board.powerOff()
                try await board.powerOn()
                _ = try await board.waitUntilUp(timeout: .seconds(30))
                if await entry.isClean() { return nil }
                attempts.append("power cycle left it \(await board.mode())")
            } catch { attempts.append("power cycle failed: \(error)") }
        }
        return attempts.joined(separator: "; ")
    }
}

/// Boards waiting for a worker.
final class WorkQueue<Item: Sendable>: Sendable {
    private let items: Mutex<[Item]>

    init(_ items: [Item]) { self.items = Mutex(items.reversed()) }

    func next() -> Item? { items.withLock { $0.popLast() } }
}
