import ScenarioAPI
import Foundation

/// What a qualification found, as the signed JSON evidence holds it and the HTML report shows it.
public struct QualificationEvidence: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable {
        /// Every required scenario passed on every platform.
        case pass = "PASS"
        /// A required scenario failed somewhere.
        case fail = "FAIL"
        /// Nothing failed, but something required did not run (a quarantined board, a skipped case).
        case incomplete = "INCOMPLETE"
    }

    public struct Provenance: Codable, Sendable, Equatable {
        public var otabenchVersion: String
        public var host: String
        public var date: String
        public var inventory: String
        public var firmwareFolder: String?
        public var runId: Int64
        public var images: [ImageRecord]
        public var boards: [BoardRecord]
    }

    public struct ImageRecord: Codable, Sendable, Equatable {
        public var platform: String
        public var role: String
        public var label: String
        public var sha256: String
        public var version: Int?
        public var fromRelease: Bool
    }

    public struct BoardRecord: Codable, Sendable, Equatable {
        public var name: String
        public var platform: String
        public var deviceId: String
        public var emulated: Bool
        public var quarantined: String?
    }

    public struct CaseRecord: Codable, Sendable, Equatable {
        public var platform: String
        public var board: String
        public var scenario: String
        public var argument: String?
        public var status: String
        public var seconds: Double
        public var message: String?
        public var knownIssue: String?
        public var console: String?

        public var id: String { argument.map { "\(scenario)[\($0)]" } ?? scenario }
    }

    /// One power cut tried: where, and what the board ran afterwards.
    public struct PowerCutRecord: Codable, Sendable, Equatable {
        public var platform: String
        public var scenario: String
        public var cut: String
        /// 0…100: where in its phase the cut was aimed.
        public var percent: Double?
        public var status: String
        public var latencyMs: Double?
        public var landedAtByte: Double?
    }

    public struct Timing: Codable, Sendable, Equatable {
        public var platform: String
        /// The case and step the time comes from.
        public var what: String
        public var seconds: Double
    }

    public struct Comparison: Codable, Sendable, Equatable {
        public var previousRelease: String
        public var previousDate: String
        public var newFailures: [String]
        public var fixed: [String]
        /// Timings that moved by more than the threshold: "platform what: before → after".
        public var timingChanges: [String]
        public var thresholdPercent: Double
    }

    public var format = "otabench-qualification/1"
    public var release: String
    public var verdict: Verdict
    public var warnings: [String]
    public var reasons: [String]
    public var platforms: [String]
    public var cases: [CaseRecord]
    public var powerCuts: [PowerCutRecord]
    public var timings: [Timing]
    public var comparison: Comparison?
    public var provenance: Provenance

    /// The verdict from the cases: any failure fails; anything required left unrun is
    /// incomplete; flaky passes and unexpected passes are warnings; a failure a known issue
    /// predicts for that platform is listed, not held against the release.
    static func verdict(cases: [CaseRecord], platforms: [String], boards: [BoardRecord]) -> (Verdict, reasons: [String], warnings: [String]) {
        var reasons: [String] = []
        var warnings: [String] = []
        let failed = cases.filter { $0.status == "failed" || $0.status == "running" }
        for failure in failed {
            reasons.append("\(failure.platform): \(failure.id) \(failure.status == "running" ? "never finished" : "failed")"
                           + (failure.message.map { ": \($0)" } ?? ""))
        }
        var incomplete: [String] = []
        for skipped in cases where CaseStatus(stored: skipped.status).leavesRunIncomplete {
            incomplete.append("\(skipped.platform): \(skipped.id) not run" + (skipped.message.map { ": \($0)" } ?? ""))
        }
        for board in boards where board.quarantined != nil
            && !cases.contains(where: { $0.board == board.name && CaseStatus(stored: $0.status).leavesRunIncomplete }) {
            incomplete.append("\(board.platform): board \(board.name) quarantined: \(board.quarantined!)")
        }
        for platform in platforms where !cases.contains(where: { $0.platform == platform && CaseStatus(stored: $0.status).executed }) {
            incomplete.append("\(platform): no qualification case ran")
        }
        for flaky in cases where flaky.status == "flaky" { warnings.append("\(flaky.platform): \(flaky.id) flaky (passed on a rerun)") }
        for surprise in cases where surprise.status == "unexpected-pass" {
            warnings.append("\(surprise.platform): \(surprise.id) passed although a known issue says it fails: \(surprise.knownIssue ?? "")")
        }
        if !failed.isEmpty { return (.fail, reasons + incomplete, warnings) }
        if !incomplete.isEmpty { return (.incomplete, incomplete, warnings) }
        return (.pass, [], warnings)
    }
}
