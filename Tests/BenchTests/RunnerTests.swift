@testable import Bench
@testable import Boards
import Emulator
import Firmware
import Foundation
import Links
import Scenarios
import NIOConcurrencyHelpers
import Testing

func temporaryDatabase() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("otabench-\(UUID().uuidString)/results.sqlite").path
}

func boards(_ names: [String], defects: Set<Defect> = []) throws -> [BoardUnderTest] {
    try names.enumerated().map { index, name in
        try BoardUnderTest.emulated(Inventory.Entry(name: name, platform: Platform(buildName: name)!, defects: defects), serial: index + 1)
    }
}

/// Counts calls across concurrent cases.
final class Counter: Sendable {
    let value = NIOLockedValueBox(0)
    func next() -> Int { value.withLockedValue { $0 += 1; return $0 } }
}

@Suite("Runner", .timeLimit(.minutes(10)))
struct RunnerTests {
    @Test("The library on a board of each family, in parallel: Gen 2 apply cuts are known failures, all else passes")
    func libraryOnEachFamily() async throws {
        let store = try ResultsStore(path: temporaryDatabase())
        var options = RunOptions()
        options.jobs = 3
        let runner = Runner(scenarios: ScenarioLibrary.all, boards: try boards(["photon", "boron", "p2"]), store: store, options: options)
        let summary = try await runner.run()
        #expect(summary.passed, "\(summary.results.filter { $0.status.failsRun })")
        let known = summary.results.filter { $0.status == .knownFailure }
        #expect(!known.isEmpty)
        #expect(known.allSatisfy { $0.platform == "photon" && $0.scenario == "ota/power-cut-during-apply" })
        #expect(summary.results.filter { $0.board == "boron" && $0.status != .notApplicable }.allSatisfy { $0.status == .passed })
        // Everything reached the database.
        let report = try store.report()
        #expect(report.cases.count == summary.results.count)
        #expect(report.run.status == "passed")
        #expect(report.cases.contains { !$0.steps.isEmpty && !$0.measurements.isEmpty })
    }

    @Test("A seeded defect makes the matching scenario fail, with expected vs actual and the console")
    func defectFails() async throws {
        let store = try ResultsStore(path: temporaryDatabase())
        var options = RunOptions()
        options.scenarioPatterns = ["ota/power-cut-during-apply"]
        let summary = try await Runner(scenarios: ScenarioLibrary.all, boards: try boards(["boron"], defects: [.nonAtomicApply]),
                                       store: store, options: options).run()
        #expect(!summary.passed)
        let failed = try #require(summary.results.first { $0.status == .failed })
        #expect(failed.message?.contains("expected") == true)
        #expect(try store.report().cases.first { $0.status == "failed" }?.console?.contains("bootloader") == true)
    }

    @Test("Step and case timeouts end a hung case with a clear failure")
    func timeouts() async throws {
        // The bodies hang until cancelled; only the run's clock, moved by the test, ends them.
        let hungStep = Scenario("test/hung-step", "a step that hangs", tags: ["test"]) { bench in
            try await bench.step("hang", timeout: .milliseconds(100)) { try await Task.sleep(for: .seconds(3600)) }
        }
        let hungCase = Scenario("test/hung-case", "a case that hangs", tags: ["test"], timeout: .milliseconds(200)) { _ in
            try await Task.sleep(for: .seconds(3600))
        }
        let board = try boards(["boron"])
        func run(_ scenario: Scenario, sleepers: Int, advancing steps: [Duration]) async throws -> RunSummary {
            let clock = ManualClock()
            var options = RunOptions()
            options.clock = clock
            let running = Task { try await Runner(scenarios: [scenario], boards: board, store: nil, options: options).run() }
            // The case's limit, and the step's when there is one, wait on the clock.
            await clock.waitForSleepers(sleepers)
            for step in steps { clock.advance(by: step) }
            return try await running.value
        }
        let step = try await run(hungStep, sleepers: 2, advancing: [.milliseconds(100)])
        #expect(step.results.map(\.status) == [.failed])
        #expect(step.results[0].message?.contains("step \"hang\" did not finish within 0.1 seconds") == true, "\(step.results)")
        let whole = try await run(hungCase, sleepers: 1, advancing: [.milliseconds(199), .milliseconds(1)])
        #expect(whole.results.map(\.status) == [.failed])
        #expect(whole.results[0].message?.contains("did not finish within 0.2 seconds") == true, "\(whole.results)")
    }

    @Test("Retries: a pass on a rerun is flaky, recorded with its failed attempt")
    func flaky() async throws {
        let counter = Counter()
        let flaky = Scenario("test/flaky", "fails once", tags: ["test"]) { bench in
            try await bench.expect(counter.next() > 1, "the second attempt")
        }
        let store = try ResultsStore(path: temporaryDatabase())
        var options = RunOptions()
        options.retries = 2
        let summary = try await Runner(scenarios: [flaky], boards: try boards(["p2"]), store: store, options: options).run()
        #expect(summary.results.map(\.status) == [.flaky])
        #expect(summary.results[0].attempts == 2)
        #expect(summary.passed)
        let report = try store.report()
        #expect(report.cases.count == 1)
        #expect(report.cases[0].status == "flaky")
        #expect(report.cases[0].reruns.map(\.status) == ["failed"])
        #expect(JUnitReport.render(report).contains("<flakyFailure"))
    }

    @Test("Known issues: a failure is a known failure, a pass is an unexpected pass; neither fails the run")
    func knownIssues() async throws {
        let issue = KnownIssue(on: .any, "the test says so", source: "this test")
        let failing = Scenario("test/known-failing", "fails", tags: ["test"], knownIssues: [issue]) { bench in
            try await bench.expect(false, "something that does not hold")
        }
        let passing = Scenario("test/known-passing", "passes", tags: ["test"], knownIssues: [issue]) { _ in }
        let summary = try await Runner(scenarios: [failing, passing], boards: try boards(["boron"]), store: nil, options: RunOptions()).run()
        #expect(summary.results.map(\.status) == [.knownFailure, .unexpectedPass])
        #expect(summary.passed)
        #expect(summary.results[1].message?.contains("known issue") == true)
    }

    @Test("Recovery: a case that leaves the board broken is followed by a clean board")
    func recoveryLadder() async throws {
        let breaker = Scenario("test/breaks-the-board", "leaves the system part damaged", tags: ["test"]) { bench in
            var damaged = bench.image(.nextSystemPart)
            damaged.bytes[damaged.bytes.count / 2] ^= 1
            let image = damaged
            try? await bench.facet((any DFUFlashing).self).flash(image)
            try await bench.expect(false, "nothing; this case fails on purpose")
        }
        let checker = Scenario("test/starts-clean", "checks the board is clean", tags: ["test"]) { bench in
            try await bench.expect(await bench.board.mode(), equals: .running, "mode")
            try await bench.expect(try await bench.runningApp()?.fingerprint, equals: bench.image(.knownGoodApp).fingerprint, "running app")
        }
        let summary = try await Runner(scenarios: [breaker, checker], boards: try boards(["argon"]), store: nil, options: RunOptions()).run()
        #expect(summary.results.map(\.status) == [.failed, .passed])
    }

    @Test("A board the ladder cannot bring back is quarantined, and its remaining cases are skipped")
    func quarantine() async throws {
        let bricker = Scenario("test/bricks-the-board", "destroys the bootloader", tags: ["test"]) { bench in
            let board = try #require(bench.board as? EmulatedBoard)
            await board.emulator.update { $0.storage.flipBit(.internal, at: 0x000F_4400, bit: 0); $0.reset(.user) }
            try await bench.expect(false, "nothing; this case fails on purpose")
        }
        let after = Scenario("test/after", "would run after", tags: ["test"]) { _ in }
        let store = try ResultsStore(path: temporaryDatabase())
        let summary = try await Runner(scenarios: [bricker, after], boards: try boards(["boron"]), store: store, options: RunOptions()).run()
        #expect(summary.results.map(\.status) == [.failed, .notRun])
        #expect(summary.results[1].message?.contains("quarantined") == true)
        #expect(try store.report().boards.first?.quarantined != nil)
    }

    @Test("Scenario selection: tags, globs, requirements and parameterised expansion")
    func selection() throws {
        var options = RunOptions()
        options.tags = [.powerCut]
        let runner = Runner(scenarios: ScenarioLibrary.all, boards: try boards(["boron"]), store: nil, options: options)
        let ids = runner.plan().flatMap { $0.cases.map { $0.1.id } }
        #expect(ids.count == 16)
        #expect(ids.allSatisfy {
            ($0.hasPrefix("ota/power-cut-during-") || $0.hasPrefix("dfu/power-cut-during-") || $0.hasPrefix("cloud/power-cut-during-")) && $0.hasSuffix("%]")
        })
        options = RunOptions()
        options.scenarioPatterns = ["guard/*-by-?ost"]
        #expect(Runner(scenarios: ScenarioLibrary.all, boards: try boards(["boron"]), store: nil, options: options)
            .plan().flatMap { $0.cases.map { $0.1.id } } == ["guard/wrong-platform-refused-by-host"])
        // Gen 3 only: the DFU recovery scenario does not run on a Photon.
        options = RunOptions()
        options.scenarioPatterns = ["recovery/*"]
        #expect(Runner(scenarios: ScenarioLibrary.all, boards: try boards(["photon"]), store: nil, options: options).plan().isEmpty)
    }
}
