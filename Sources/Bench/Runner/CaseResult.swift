/// How one case went on one board.
public struct CaseResult: Hashable, Sendable, Codable {
    public var board: String
    public var platform: String
    public var scenario: String
    public var argument: String?
    public var status: CaseStatus
    public var attempts: Int
    public var seconds: Double
    public var message: String?
    public var knownIssue: String?

    public var id: String { argument.map { "\(scenario)[\($0)]" } ?? scenario }
}

/// The outcome of `otabench run`.
public struct RunSummary: Sendable {
    public var runID: Int64?
    public var results: [CaseResult]
    public var quarantined: [String: String]
    public var seconds: Double

    public func count(_ status: CaseStatus) -> Int { results.filter { $0.status == status }.count }
    public var passed: Bool { !results.contains { $0.status.failsRun } && !results.isEmpty }
}
