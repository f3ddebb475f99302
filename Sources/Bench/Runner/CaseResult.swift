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
    /// Stopped by a signal (its task cancelled) before every case ran.
    public var interrupted: Bool

    public init(runID: Int64?, results: [CaseResult], quarantined: [String: String], seconds: Double, interrupted: Bool = false) {
        self.runID = runID
        self.results = results
        self.quarantined = quarantined
        self.seconds = seconds
        self.interrupted = interrupted
    }

    public func count(_ status: CaseStatus) -> Int { results.filter { $0.status == status }.count }
    public var verdict: RunVerdict { RunVerdict.of(results.map(\.status), interrupted: interrupted) }
    /// PASSED: every runnable case ran and none failed. Never true for a run that ran nothing.
    public var passed: Bool { verdict == .passed }
}
