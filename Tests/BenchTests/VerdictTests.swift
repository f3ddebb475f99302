@testable import Bench
import Emulator
import Firmware
import Foundation
import Scenarios
import NIOConcurrencyHelpers
import Testing

/// Verdicts that can be believed: every planned case accounted for, nothing green when nothing
/// ran, no record from another case, an interruption said as such.
@Suite("Verdicts", .timeLimit(.minutes(10)))
struct VerdictTests {
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-verdict-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// An emulated board the runner treats as one on USB: leased like a real board.
    static func realLike(_ name: String) throws -> BoardUnderTest {
        var board = try boards([name])[0]
        board.emulated = false
        return board
    }

    static let quick = Scenario("test/quick", "passes", tags: ["test"]) { bench in
        try await bench.step("look") { _ = await bench.board.mode() }
    }

    @Test("A board leased by another holder: each of its cases is not run, naming the holder, and the run is INCOMPLETE, in the database, JSON and JUnit")
    func leasedBoardIsIncomplete() async throws {
        let leases = try Self.folder()
        let board = try Self.realLike("boron")
        let holder = try BoardLease(board: board.board.leaseKey, directory: leases)
        defer { withExtendedLifetime(holder) {} }
        let store = try ResultsStore(path: temporaryDatabase())
        var options = RunOptions()
        options.leaseDirectory = leases
        let summary = try await Runner(scenarios: [Self.quick, Self.quick], boards: [board], store: store, options: options).run()
        #expect(summary.results.map(\.status) == [.notRun, .notRun])
        #expect(summary.results.allSatisfy { ($0.message ?? "").contains("leased by pid \(getpid())") })
        #expect(summary.verdict == .incomplete && !summary.passed)
        #expect(summary.verdict.exitStatus() == 3)

        let report = try store.report()
        #expect(report.verdict == .incomplete)
        #expect(report.run.status == "incomplete")
        #expect(report.cases.map(\.status) == ["not-run", "not-run"])
        let junit = JUnitReport.render(report)
        #expect(junit.components(separatedBy: "<skipped message=\"not run: boron is leased by pid").count == 3, "\(junit)")
        #expect(junit.contains("<error message=\"INCOMPLETE: 2 planned cases did not run; none ran\""), "\(junit)")
        #expect(HTMLReport.render(report).contains(">INCOMPLETE<"))
        let json = try JSONReport.render(report)
        #expect(json.contains("\"verdict\" : \"INCOMPLETE\""))
    }

    @Test("A run that executed no case is never PASSED; cases a board cannot run are listed as not applicable and change nothing else")
    func nothingRanIsNotGreen() async throws {
        // A Photon lacks nothing for the quick case, but the recovery scenarios are Gen 3 only.
        let gen3Only = Scenario("test/gen3-only", "Gen 3 only", tags: ["test"], platforms: .generations([.gen3])) { _ in }
        let store = try ResultsStore(path: temporaryDatabase())
        let none = try await Runner(scenarios: [gen3Only], boards: try boards(["photon"]), store: store, options: RunOptions()).run()
        #expect(none.results.map(\.status) == [.notApplicable])
        #expect(none.results[0].message?.contains("runs on") == true)
        #expect(none.verdict == .incomplete && !none.passed)
        #expect(try store.report().verdict == .incomplete)
        #expect(try store.report().verdictReason == "no case ran")

        let mixed = try await Runner(scenarios: [gen3Only, Self.quick], boards: try boards(["photon"]), store: store, options: RunOptions()).run()
        #expect(Set(mixed.results.map(\.status)) == [.notApplicable, .passed])
        #expect(mixed.verdict == .passed)
        let report = try store.report()
        #expect(report.verdict == .passed)
        #expect(JUnitReport.render(report).contains("<skipped message=\"not applicable: runs on"))
        #expect(!JUnitReport.render(report).contains("run verdict"))
    }

    @Test("A lease that cannot be checked stops the run before anything runs, naming the path")
    func unusableLease() async throws {
        let folder = try Self.folder()
        let notAFolder = (folder as NSString).appendingPathComponent("leases")
        FileManager.default.createFile(atPath: notAFolder, contents: Data("x".utf8))
        var options = RunOptions()
        options.leaseDirectory = notAFolder
        let store = try ResultsStore(path: temporaryDatabase())
        let runs = Counter()
        let counting = Scenario("test/counting", "counts", tags: ["test"]) { _ in _ = runs.next() }
        await #expect(throws: BoardLease.Failure.self) {
            _ = try await Runner(scenarios: [counting], boards: [try Self.realLike("boron")], store: store, options: options).run()
        }
        #expect(runs.value.withLockedValue { $0 } == 0)
        #expect(throws: ReportError.self) { try store.report() }
        do {
            _ = try BoardLease(board: "x", directory: notAFolder)
            Issue.record("a file taken for a lease folder")
        } catch {
            #expect("\(error)".contains(notAFolder) && "\(error)".contains("not a folder"))
        }
    }

    @Test("A lease left by a holder that died is taken over, and says whose it was")
    func deadHolder() throws {
        let leases = try Self.folder()
        // What a killed holder leaves: its note, and no lock (the kernel dropped it).
        try "pid 999999 on lab, otabench run, since yesterday\n".write(toFile: (leases as NSString).appendingPathComponent("e00fce68.lease"),
                                                                         atomically: true, encoding: .utf8)
        let lease = try BoardLease(board: "e00fce68", directory: leases)
        #expect(lease.tookOverFrom?.contains("pid 999999") == true)
        #expect(throws: BoardLease.Failure.self) { try BoardLease(board: "e00fce68", directory: leases) }
        let attributes = try FileManager.default.attributesOfItem(atPath: lease.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o666, "every user of the boards can take it next")
    }

    @Test("The host-wide lease folder is made sticky and writable by every user")
    func sharedFolderMode() throws {
        let parent = try Self.folder()
        let folder = (parent as NSString).appendingPathComponent("otabench")
        _ = try BoardLease(board: "a", directory: folder)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int)
        #expect(mode == 0o1777)
        #expect(throws: BoardLease.Failure.self) {
            try BoardLease(board: "a", directory: (parent as NSString).appendingPathComponent("missing/otabench"))
        }
    }

    /// What a case records, timings aside.
    struct Record: Equatable, CustomStringConvertible {
        var status: String
        var message: String?
        var steps: [String]
        var measurements: [String]
        var console: String?
        var description: String { "\(status) \(message ?? "") steps \(steps) measured \(measurements) console \(console?.count ?? 0) chars" }
    }

    static func records(_ scenarios: [Scenario]) async throws -> [String: Record] {
        let store = try ResultsStore(path: temporaryDatabase())
        _ = try await Runner(scenarios: scenarios, boards: try boards(["boron"]), store: store, options: RunOptions()).run()
        var records: [String: Record] = [:]
        for item in try store.report().cases {
            records[item.id] = Record(status: item.status, message: item.message,
                                      steps: item.steps.map { "\($0.name): \($0.status) \($0.message ?? "")" },
                                      measurements: item.measurements.filter { !["s", "ms"].contains($0.unit) }
                                          .map { "\($0.name) = \($0.value) \($0.unit)" },
                                      console: item.console)
        }
        return records
    }

    @Test("Cases are isolated: the same cases in another order, or alone, record the same (timings aside)")
    func isolation() async throws {
        let cloud = try #require(ScenarioLibrary.all.first { $0.name == "cloud/power-cut-during-transfer" })
        let usb = try #require(ScenarioLibrary.all.first { $0.name == "ota/power-cut-during-download" })
        let happy = try #require(ScenarioLibrary.all.first { $0.name == "ota/happy-path" })
        let forward = try await Self.records([cloud, usb, happy])
        let backward = try await Self.records([happy, usb, cloud])
        let usbAlone = try await Self.records([usb])
        #expect(forward.count == 9)
        for (id, record) in forward {
            #expect(backward[id] == record, "\(id): \(record) against \(String(describing: backward[id]))")
        }
        for (id, record) in usbAlone { #expect(forward[id] == record, "\(id) alone: \(record) against \(String(describing: forward[id]))") }
        // The finding that started this: a USB cut early in the download reported the cloud cut's landing.
        let early = try #require(forward["ota/power-cut-during-download[download 13%]"])
        let cloudLanding = forward["cloud/power-cut-during-transfer[download 88%]"]?.measurements.first { $0.hasPrefix("power cut landed at") }
        #expect(cloudLanding == nil || !early.measurements.contains(cloudLanding!), "\(early)")
    }

    @Test("A cancelled run: the case in flight is interrupted, the rest not run, and the verdict is INTERRUPTED")
    func interrupted() async throws {
        let started = Counter()
        let blocker = Scenario("test/blocks", "waits until stopped", tags: ["test"]) { bench in
            try await bench.step("wait") {
                _ = started.next()
                try await Task.sleep(for: .seconds(3600))
            }
        }
        let store = try ResultsStore(path: temporaryDatabase())
        let runner = Runner(scenarios: [Self.quick, blocker, Self.quick], boards: try boards(["boron"]), store: store, options: RunOptions())
        let run = Task { try await runner.run() }
        while started.value.withLockedValue({ $0 }) == 0 { await Task.yield() }
        run.cancel()
        let summary = try await run.value
        #expect(summary.results.map(\.status) == [.passed, .interrupted, .notRun])
        #expect(summary.results[2].message?.contains("interrupted before this case started") == true)
        #expect(summary.verdict == .interrupted)
        #expect(summary.verdict.exitStatus(signal: SIGTERM) == 143)
        let report = try store.report()
        #expect(report.verdict == .interrupted)
        #expect(report.cases.map(\.status) == ["passed", "interrupted", "not-run"])
        #expect(JUnitReport.render(report).contains("type=\"interrupted\""))
    }

    @Test("Cases a run plans are in the database before any runs: a killed run shows those it never reached")
    func plannedBeforeRunning() async throws {
        let store = try ResultsStore(path: temporaryDatabase())
        let runner = Runner(scenarios: [Self.quick, Self.quick], boards: try boards(["boron"]), store: store, options: RunOptions())
        let shared = SeenStatuses()
        _ = try await runner.run { id in
            let report = try store.report(run: id)
            shared.record(report.cases.map(\.status), verdict: report.verdict)
        }
        #expect(shared.statuses == ["pending", "pending"])
        #expect(shared.verdict == .unfinished)
        #expect(JUnitReport.render(try store.report()).contains("tests=\"2\""))
    }
}

final class SeenStatuses: Sendable {
    private let state = NIOLockedValueBox<([String], RunVerdict?)>(([], nil))
    func record(_ statuses: [String], verdict: RunVerdict) { state.withLockedValue { $0 = (statuses, verdict) } }
    var statuses: [String] { state.withLockedValue { $0.0 } }
    var verdict: RunVerdict? { state.withLockedValue { $0.1 } }
}
