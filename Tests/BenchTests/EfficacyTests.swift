import Bench
import Scenarios
import Testing

@Suite("Efficacy", .timeLimit(.minutes(10)))
struct EfficacyTests {
    @Test("Every seeded defect is caught by a scenario, and every fault-probing scenario catches one")
    func everyDefectCaught() async throws {
        let matrix = try await Efficacy(scenarios: ScenarioLibrary.all).run()
        #expect(matrix.uncaughtDefects.isEmpty, "missed: \(matrix.uncaughtDefects)")
        #expect(matrix.probingScenariosCatchingNothing.isEmpty, "weak: \(matrix.probingScenariosCatchingNothing)")
        // The pairs that matter, by name.
        #expect(matrix.catches("ota/power-cut-during-apply", "non-atomic-apply"))
        #expect(matrix.catches("guard/corrupt-image-refused", "skip-crc"))
        #expect(matrix.catches("guard/wrong-platform-refused-by-device", "ignore-platform"))
        #expect(matrix.catches("deps/unmet-dependency-safe-mode-then-heal", "ignore-dependencies"))
        #expect(matrix.catches("update-control/disabled-then-enabled", "ignore-disable-updates"))
        #expect(matrix.catches("update-control/forced-overrides-disable", "ignore-forced"))
        #expect(matrix.catches("guard/truncated-transfer-refused", "accept-truncated"))
        // Plain-operation scenarios are not fooled into "catching" what they do not check.
        #expect(!matrix.catches("ota/minimal-disruption", "ignore-forced"))
    }
}
