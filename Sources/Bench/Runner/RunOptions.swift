import Boards
/// What `otabench run` was asked for.
public struct RunOptions: Sendable {
    public var tags: Set<Tag> = []
    /// Shell-style globs on scenario names (`ota/*`).
    public var scenarioPatterns: [String] = []
    public var boardNames: Set<String> = []
    public var platforms: Set<String> = []
    /// Boards running at once.
    public var jobs: Int = 4
    /// Reruns of a failed case; a pass on a rerun is flaky.
    public var retries: Int = 0
    /// Runs of each case.
    public var repeatCount: Int = 1
    /// Cut points per power-cut scenario, spread over its phase; nil keeps each scenario's own.
    public var cutPoints: Int?
    public var stepTimeout: Duration = .seconds(60)
    /// Overrides every scenario's own timeout (tests use it).
    public var caseTimeout: Duration?
    /// What step and case limits are measured on: wall time for a run, a manual clock for a
    /// test of the limits themselves.
    public var clock: any Clock<Duration> = ContinuousClock()
    /// Where board leases live; nil runs without leases.
    public var leaseDirectory: String?
    /// How the power-cut check before power-cut scenarios waits, on real and emulated boards.
    public var powerCheck = PowerCutVerification.Limits()
    public var emulatedPowerCheck = PowerCutVerification.Limits.emulated

    public init() {}

    public func selects(_ scenario: Scenario) -> Bool {
        (tags.isEmpty || !tags.isDisjoint(with: scenario.tags))
            && (scenarioPatterns.isEmpty || scenarioPatterns.contains { glob($0, matches: scenario.name) })
    }
}

/// `*` matches any run of characters, `?` one character.
func glob(_ pattern: String, matches text: String) -> Bool {
    let p = Array(pattern)
    let t = Array(text)
    var memo: [Int: Bool] = [:]
    func match(_ i: Int, _ j: Int) -> Bool {
        let key = i * (t.count + 1) + j
        if let known = memo[key] { return known }
        let result: Bool
        if i == p.count { result = j == t.count }
        else if p[i] == "*" { result = match(i + 1, j) || (j < t.count && match(i, j + 1)) }
        else { result = j < t.count && (p[i] == "?" || p[i] == t[j]) && match(i + 1, j + 1) }
        memo[key] = result
        return result
    }
    return match(0, 0)
}
