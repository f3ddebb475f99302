@testable import Bench
import Foundation
import TestSupport
import Testing

@Suite("Qualification evidence, signatures and history", .timeLimit(.minutes(10)))
struct QualificationTests {
    static func record(_ platform: String, _ scenario: String, _ status: String, board: String? = nil, seconds: Double = 1)
        -> QualificationEvidence.CaseRecord {
        .init(platform: platform, board: board ?? platform, scenario: scenario, argument: nil, status: status, seconds: seconds)
    }

    @Test("The verdict: failures fail and are named; anything unrun is incomplete; flaky and unexpected passes warn; known failures do not count")
    func verdicts() {
        let boards = [QualificationEvidence.BoardRecord(name: "boron", platform: "boron", deviceId: "x", emulated: true),
                      .init(name: "p2", platform: "p2", deviceId: "y", emulated: true)]
        let clean = [Self.record("boron", "ota/happy-path", "passed"), Self.record("p2", "ota/happy-path", "known-failure")]
        #expect(QualificationEvidence.verdict(cases: clean, platforms: ["boron", "p2"], boards: boards).0 == .pass)

        let flaky = clean + [Self.record("p2", "guard/corrupt-image-refused", "flaky")]
        let (flakyVerdict, _, warnings) = QualificationEvidence.verdict(cases: flaky, platforms: ["boron", "p2"], boards: boards)
        #expect(flakyVerdict == .pass)
        #expect(warnings == ["p2: guard/corrupt-image-refused flaky (passed on a rerun)"])

        let skipped = clean + [Self.record("p2", "ota/power-cut-during-download", "skipped")]
        #expect(QualificationEvidence.verdict(cases: skipped, platforms: ["boron", "p2"], boards: boards).0 == .incomplete)
        let missing = QualificationEvidence.verdict(cases: clean, platforms: ["boron", "p2", "argon"], boards: boards)
        #expect(missing.0 == .incomplete && missing.reasons == ["argon: no qualification case ran"])

        var failed = skipped + [Self.record("boron", "guard/wrong-platform-refused-by-device", "failed")]
        failed[failed.count - 1].message = "it succeeded"
        let failure = QualificationEvidence.verdict(cases: failed, platforms: ["boron", "p2"], boards: boards)
        #expect(failure.0 == .fail)
        #expect(failure.reasons.first == "boron: guard/wrong-platform-refused-by-device failed: it succeeded")
    }

    @Test("Against the previous qualification: new failures, fixed ones, and timings beyond the threshold")
    func comparison() {
        func evidence(_ release: String, _ cases: [QualificationEvidence.CaseRecord], _ timings: [QualificationEvidence.Timing]) -> QualificationEvidence {
            QualificationEvidence(release: release, verdict: .pass, warnings: [], reasons: [], platforms: ["boron"], cases: cases, powerCuts: [],
                                  timings: timings, provenance: .init(otabenchVersion: "t", host: "h", date: "2026-11-01", inventory: "lab.toml",
                                                                      runId: 1, images: [], boards: []))
        }
        let before = evidence("v1", [Self.record("boron", "a", "failed"), Self.record("boron", "b", "passed")],
                              [.init(platform: "boron", what: "ota/happy-path: update", seconds: 2.0),
                               .init(platform: "boron", what: "dfu/flash-known-good: flash", seconds: 1.0),
                               .init(platform: "boron", what: "tiny", seconds: 0.010)])
        let after = evidence("v2", [Self.record("boron", "a", "passed"), Self.record("boron", "b", "failed")],
                             [.init(platform: "boron", what: "ota/happy-path: update", seconds: 3.0),
                              .init(platform: "boron", what: "dfu/flash-known-good: flash", seconds: 1.1),
                              .init(platform: "boron", what: "tiny", seconds: 0.030)])
        let comparison = Qualification.compare(after, with: before, threshold: 25)
        #expect(comparison.previousRelease == "v1")
        #expect(comparison.newFailures == ["boron: b"])
        #expect(comparison.fixed == ["boron: a"])
        #expect(comparison.timingChanges == ["boron ota/happy-path: update: 2.00 s → 3.00 s (+50%)"], "a 10% move and a 20 ms one are not listed")
    }

    @Test("Ed25519 through OpenSSL: a signature holds for the exact bytes and the key, and for nothing else")
    func signatures() throws {
        let (privateKey, publicKey) = try EvidenceSignature.generateKey()
        #expect(privateKey.hasPrefix("-----BEGIN PRIVATE KEY-----") && publicKey.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let data = Array("{\"verdict\": \"PASS\"}\n".utf8)
        let signature = try EvidenceSignature.sign(data, privateKeyPEM: privateKey)
        #expect(signature.keyID == (try EvidenceSignature.keyID(publicKeyPEM: publicKey)))
        #expect(try signature.verify(data, publicKeyPEM: publicKey))
        for position in [0, data.count / 2, data.count - 1] {
            var changed = data
            changed[position] ^= 0x01
            #expect(try !signature.verify(changed, publicKeyPEM: publicKey), "a one-bit change at \(position)")
        }
        let (_, otherPublic) = try EvidenceSignature.generateKey()
        #expect(try !signature.verify(data, publicKeyPEM: otherPublic))
        #expect(throws: SignatureError.badKey("not a PEM private key")) { try EvidenceSignature.sign(data, privateKeyPEM: "hello") }
        #expect(throws: SignatureError.badKey("not a PEM public key")) { try signature.verify(data, publicKeyPEM: privateKey) }
    }

    @Test("History: pass rate, flaky rate and duration trend per scenario and board, filtered by date, scenario and board")
    func history() throws {
        let folder = try temporaryFolder("history")
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite").path)
        // Four runs of ota/happy-path on boron: passed, flaky (failed then passed), failed, passed; durations rising.
        let plan: [[(CaseStatus, Double)]] = [[(.passed, 1)], [(.failed, 9), (.flaky, 1)], [(.failed, 2)], [(.passed, 3)]]
        for attempts in plan {
            let run = try store.startRun(arguments: ["run"], inventory: "lab.toml")
            for (attempt, (status, seconds)) in attempts.enumerated() {
                let id = try store.startCase(run: run, board: "boron", platform: "boron", scenario: "ota/happy-path", argument: nil,
                                             attempt: attempt + 1)
                try store.finishCase(id, status: status, seconds: seconds, message: nil, knownIssue: nil, console: [])
            }
            let other = try store.startCase(run: run, board: "p2", platform: "p2", scenario: "guard/corrupt-image-refused", argument: nil, attempt: 1)
            try store.finishCase(other, status: .passed, seconds: 0.5, message: nil, knownIssue: nil, console: [])
            try store.finishRun(run, status: "finished")
        }
        let rows = try store.history()
        #expect(rows.map(\.scenario) == ["guard/corrupt-image-refused", "ota/happy-path"])
        let ota = try #require(rows.last)
        #expect(ota.runs == 4 && ota.passed == 2 && ota.flaky == 1 && ota.failed == 1)
        #expect(ota.passRate == 0.75)
        #expect(ota.flakyRate == 0.25)
        #expect(ota.durations == [1, 1, 2, 3], "the final attempt's duration, not the failed first try's")
        #expect(ota.durationTrend == 1.5, "newer half 2.5 s against older half 1 s")
        #expect(ota.sparkline.count == 4)
        #expect(try store.history(scenario: "guard/*").map(\.board) == ["p2"])
        #expect(try store.history(board: "boron").count == 1)
        #expect(try store.history(since: "2999-01-01").isEmpty)
        #expect(try store.history(since: "2000-01-01").count == 2)
    }
}
