import Scenarios
import ScenarioAPI
import Boards
import Firmware

/// Whether the scenarios catch the firmware bugs they are about: every scenario runs on
/// emulated boards with each seeded defect switched on, against a clean baseline. A
/// scenario catches a defect when a case that passes on a sound board fails on the broken one.
public struct Efficacy: Sendable {
    public struct Matrix: Sendable, Codable {
        public var defects: [String]
        public var scenarios: [String]
        /// defect → scenarios that caught it.
        public var caught: [String: [String]]
        /// Scenarios that are expected to catch something (`probesDefects`).
        public var probing: [String]
        public var platforms: [String]

        public func catches(_ scenario: String, _ defect: String) -> Bool { caught[defect]?.contains(scenario) ?? false }
        public var uncaughtDefects: [String] { defects.filter { (caught[$0] ?? []).isEmpty } }
        public var probingScenariosCatchingNothing: [String] {
            probing.filter { scenario in !defects.contains { catches(scenario, $0) } }
        }
    }

    public var scenarios: [Scenario]
    /// One board per MCU family by default.
    public var platforms: [Platform] = ["photon", "boron", "p2"].compactMap { Platform(buildName: $0) }
    public var defects: [Defect] = Defect.allCases

    public init(scenarios: [Scenario] = ScenarioLibrary.all) {
        self.scenarios = scenarios
    }

    public func run() async throws -> Matrix {
        func outcomes(_ defects: Set<Defect>) async throws -> [String: CaseStatus] {
            let boards = try platforms.enumerated().map { index, platform in
                try BoardUnderTest.emulated(Inventory.Entry(name: platform.buildName, platform: platform, defects: defects), serial: index + 1)
            }
            var options = RunOptions()
            options.jobs = boards.count
            let summary = try await Runner(scenarios: scenarios, boards: boards, store: nil, options: options).run()
            return Dictionary(summary.results.map { ("\($0.board)|\($0.id)", $0.status) }, uniquingKeysWith: { $1 })
        }
        let baseline = try await outcomes([])
        var caught: [String: [String]] = [:]
        for defect in defects {
            let broken = try await outcomes([defect])
            var scenariosCatching: Set<String> = []
            for (key, status) in broken where status.failsRun || status == .unexpectedPass {
                guard let clean = baseline[key], clean == .passed || clean == .knownFailure, clean != status else { continue }
                let id = String(key.split(separator: "|", maxSplits: 1)[1])
                scenariosCatching.insert(scenarios.first { scenario in scenario.cases.contains { $0.id == id } }?.name ?? id)
            }
            caught[defect.rawValue] = scenariosCatching.sorted()
        }
        return Matrix(defects: defects.map(\.rawValue), scenarios: scenarios.map(\.name), caught: caught,
                      probing: scenarios.filter(\.probesDefects).map(\.name), platforms: platforms.map(\.buildName))
    }
}
