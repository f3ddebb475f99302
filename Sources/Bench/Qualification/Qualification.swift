import Scenarios
import ScenarioAPI
import Firmware
import Foundation
import GRDB

/// Turns a qualification run into its evidence: verdict, cases, power-cut coverage, timings,
/// provenance, and the comparison with the previous qualification on the same inventory.
public enum Qualification {
    /// The scenarios whose cases count as power cuts, and the ones whose steps are the
    /// flash and OTA timings.
    public struct Sources: Sendable {
        public var powerCutScenarios: Set<String>
        public var timedScenarios: Set<String> = ["dfu/flash-known-good", "ota/happy-path"]

        public init(powerCutScenarios: Set<String>) {
            self.powerCutScenarios = powerCutScenarios
        }

        /// The scenario library's own power-cut scenarios.
        public static var library: Sources {
            Sources(powerCutScenarios: Set(ScenarioLibrary.all.filter { $0.tags.contains(.powerCut) }.map(\.name)))
        }
    }

    public static func evidence(release: String, report: RunReport, boards: [BoardUnderTest], firmware: ReleaseFirmware?,
                                previous: QualificationEvidence?, sources: Sources, timingThreshold: Double = 25) -> QualificationEvidence {
        let platforms = Array(Set(boards.map { $0.board.platform.buildName })).sorted()
        let cases = report.cases.map {
            QualificationEvidence.CaseRecord(platform: $0.platform, board: $0.board, scenario: $0.scenario, argument: $0.argument,
                                             status: $0.status, seconds: $0.seconds, message: $0.message, knownIssue: $0.knownIssue,
                                             console: $0.console)
        }
        let boardRecords = report.boards.map {
            QualificationEvidence.BoardRecord(name: $0.name, platform: $0.platform, deviceId: $0.deviceId, emulated: $0.emulated,
                                              quarantined: $0.quarantined)
        }
        let (verdict, reasons, warnings) = QualificationEvidence.verdict(cases: cases, platforms: platforms, boards: boardRecords)

        let powerCuts = report.cases.filter { sources.powerCutScenarios.contains($0.scenario) && $0.status != "not-applicable" }.map { item in
            QualificationEvidence.PowerCutRecord(
                platform: item.platform, scenario: item.scenario, cut: item.argument ?? "",
                percent: item.argument.flatMap { $0.split(separator: " ").last }.flatMap { Double($0.dropLast()) },
                status: item.status, latencyMs: item.measurements.first { $0.name == "power-cut latency" }?.value,
                landedAtByte: item.measurements.first { $0.name == "power cut landed at" }?.value)
        }
        var timings: [QualificationEvidence.Timing] = []
        for item in report.cases where sources.timedScenarios.contains(item.scenario) && item.status == "passed" {
            for step in item.steps where step.status == "passed" {
                timings.append(.init(platform: item.platform, what: "\(item.scenario): \(step.name)", seconds: step.seconds))
            }
        }

        let releaseHashes = Set(firmware?.images.map(\.sha256) ?? [])
        var images: [QualificationEvidence.ImageRecord] = []
        for board in boards {
            for (role, image) in board.firmware.all.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                let hash = SHA256.digest(image.bytes).hexString
                images.append(.init(platform: board.board.platform.buildName, role: role.rawValue, label: image.label, sha256: hash,
                                    version: image.module.map { Int($0.version) }, fromRelease: releaseHashes.contains(hash)))
            }
        }
        // Two boards of one platform share images: keep each once.
        var seen = Set<String>()
        images = images.filter { seen.insert("\($0.platform) \($0.role) \($0.sha256)").inserted }

        var evidence = QualificationEvidence(
            release: release, verdict: verdict, warnings: warnings, reasons: reasons, platforms: platforms, cases: cases,
            powerCuts: powerCuts, timings: timings, comparison: nil,
            provenance: .init(otabenchVersion: report.run.version, host: report.run.host, date: report.run.started,
                              inventory: report.run.inventory, firmwareFolder: firmware?.folder, runId: report.run.id,
                              images: images, boards: boardRecords))
        if let previous { evidence.comparison = compare(evidence, with: previous, threshold: timingThreshold) }
        return evidence
    }

    /// New failures, fixed failures, and timings that moved by more than `threshold` percent.
    static func compare(_ current: QualificationEvidence, with previous: QualificationEvidence, threshold: Double) -> QualificationEvidence.Comparison {
        func failing(_ evidence: QualificationEvidence) -> Set<String> {
            Set(evidence.cases.filter { $0.status == "failed" || $0.status == "running" }.map { "\($0.platform): \($0.id)" })
        }
        func passing(_ evidence: QualificationEvidence) -> Set<String> {
            Set(evidence.cases.filter { $0.status == "passed" || $0.status == "flaky" }.map { "\($0.platform): \($0.id)" })
        }
        let newFailures = failing(current).subtracting(failing(previous)).sorted()
        let fixed = failing(previous).intersection(passing(current)).sorted()
        func medians(_ evidence: QualificationEvidence) -> [String: Double] {
            Dictionary(grouping: evidence.timings, by: { "\($0.platform) \($0.what)" }).mapValues { values in
                let sorted = values.map(\.seconds).sorted()
                return sorted[sorted.count / 2]
            }
        }
        let before = medians(previous), after = medians(current)
        var changes: [String] = []
        for (key, now) in after.sorted(by: { $0.key < $1.key }) {
            guard let then = before[key], then > 0 else { continue }
            let percent = (now - then) / then * 100
            // Tiny steps jitter by large fractions: only moves of 50 ms or more count.
            if abs(percent) > threshold, abs(now - then) >= 0.05 {
                changes.append(String(format: "%@: %.2f s → %.2f s (%+.0f%%)", key, then, now, percent))
            }
        }
        return .init(previousRelease: previous.release, previousDate: previous.provenance.date, newFailures: newFailures, fixed: fixed,
                     timingChanges: changes, thresholdPercent: threshold)
    }
}

extension ResultsStore {
    /// Keeps a qualification's evidence with its run.
    public func saveQualification(_ evidence: QualificationEvidence) throws {
        let json = String(decoding: try QualificationEvidence.encoder.encode(evidence), as: UTF8.self)
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO qualification (runId, release, inventory, verdict, evidence) VALUES (?, ?, ?, ?, ?)",
                           arguments: [evidence.provenance.runId, evidence.release, evidence.provenance.inventory, evidence.verdict.rawValue, json])
        }
    }

    /// The newest qualification on `inventory` before run `before`.
    public func previousQualification(inventory: String, before run: Int64) throws -> QualificationEvidence? {
        let json = try queue.read { db in
            try String.fetchOne(db, sql: "SELECT evidence FROM qualification WHERE inventory = ? AND runId < ? ORDER BY runId DESC LIMIT 1",
                                arguments: [inventory, run])
        }
        return try json.map { try JSONDecoder().decode(QualificationEvidence.self, from: Data($0.utf8)) }
    }
}

extension QualificationEvidence {
    /// Stable output: sorted keys, so the same evidence is the same bytes.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
