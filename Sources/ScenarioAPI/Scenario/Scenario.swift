import Firmware

/// A test of a board, written in plain Swift: a name, a one-line summary, tags,
/// requirements, and a body. A parameterised scenario expands into one case per argument.
public struct Scenario: Sendable {
    public var name: String
    public var summary: String
    public var tags: Set<Tag>
    public var requirements: Requirements
    public var knownIssues: [KnownIssue]
    /// The whole case, recovery not included.
    public var timeout: Duration
    /// Whether the scenario checks how firmware handles a fault (efficacy expects it to catch
    /// a seeded defect), rather than that a plain operation works.
    public var probesDefects: Bool
    public let cases: [ScenarioCase]
    /// For a power-cut scenario: its cases for another number of cut points.
    private let casesForCutPoints: (@Sendable (Int) -> [ScenarioCase])?

    public init(
        _ name: String, _ summary: String, tags: Set<Tag>, requires capabilities: Set<Capability> = [],
        platforms: PlatformFilter = .any, knownIssues: [KnownIssue] = [], timeout: Duration = .seconds(120),
        probesDefects: Bool = true, body: @escaping @Sendable (ScenarioContext) async throws -> Void
    ) {
        self.init(name, summary, tags, Requirements(capabilities: capabilities, platforms: platforms), knownIssues, timeout,
                  probesDefects, cases: [ScenarioCase(scenario: name, argument: nil, body: body)])
    }

    public init<Argument: Sendable & CustomStringConvertible>(
        _ name: String, _ summary: String, tags: Set<Tag>, requires capabilities: Set<Capability> = [],
        platforms: PlatformFilter = .any, knownIssues: [KnownIssue] = [], timeout: Duration = .seconds(120),
        probesDefects: Bool = true, arguments: [Argument],
        body: @escaping @Sendable (ScenarioContext, Argument) async throws -> Void
    ) {
        self.init(name, summary, tags, Requirements(capabilities: capabilities, platforms: platforms), knownIssues, timeout,
                  probesDefects, cases: arguments.map { argument in
                      ScenarioCase(scenario: name, argument: argument.description) { context in try await body(context, argument) }
                  })
    }

    /// A power-cut scenario: one case per cut point spread over `phase`, `cutPoints` of them
    /// unless the run asks for another number (`otabench run --cut-points N`).
    public init(
        _ name: String, _ summary: String, tags: Set<Tag>, requires capabilities: Set<Capability> = [],
        platforms: PlatformFilter = .any, knownIssues: [KnownIssue] = [], timeout: Duration = .seconds(120),
        probesDefects: Bool = true, powerCutsOver phase: PowerCut.Phase, cutPoints: Int = 4,
        body: @escaping @Sendable (ScenarioContext, PowerCut) async throws -> Void
    ) {
        let cases: @Sendable (Int) -> [ScenarioCase] = { count in
            PowerCut.spread(count, over: phase).map { cut in
                ScenarioCase(scenario: name, argument: cut.description) { context in try await body(context, cut) }
            }
        }
        self.init(name, summary, tags, Requirements(capabilities: capabilities, platforms: platforms), knownIssues, timeout,
                  probesDefects, cases: cases(cutPoints), casesForCutPoints: cases)
    }

    /// The cases to run: with `cutPoints`, a power-cut scenario's cut points are that many.
    public func cases(cutPoints: Int?) -> [ScenarioCase] {
        guard let cutPoints, cutPoints > 0, let casesForCutPoints else { return cases }
        return casesForCutPoints(cutPoints)
    }

    private init(_ name: String, _ summary: String, _ tags: Set<Tag>, _ requirements: Requirements, _ knownIssues: [KnownIssue],
                 _ timeout: Duration, _ probesDefects: Bool, cases: [ScenarioCase],
                 casesForCutPoints: (@Sendable (Int) -> [ScenarioCase])? = nil) {
        self.name = name
        self.summary = summary
        self.tags = tags
        self.requirements = requirements
        self.knownIssues = knownIssues
        self.timeout = timeout
        self.probesDefects = probesDefects
        self.cases = cases
        self.casesForCutPoints = casesForCutPoints
    }

    public func knownIssue(on platform: Platform) -> KnownIssue? {
        knownIssues.first { $0.platforms.matches(platform) }
    }
}

/// One runnable case of a scenario: the scenario itself, or one of its arguments.
public struct ScenarioCase: Sendable {
    public var scenario: String
    public var argument: String?
    public let body: @Sendable (ScenarioContext) async throws -> Void

    /// `scenario` or `scenario[argument]`.
    public var id: String { argument.map { "\(scenario)[\($0)]" } ?? scenario }
}

public struct Tag: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static let nightly: Tag = "nightly"
    public static let qualification: Tag = "qualification"
    public static let smoke: Tag = "smoke"
    public static let powerCut: Tag = "power-cut"
    public static let guards: Tag = "guard"
    public static let ota: Tag = "ota"
    public static let dfu: Tag = "dfu"
    public static let updateControl: Tag = "update-control"
    public static let recovery: Tag = "recovery"
}

public struct Requirements: Sendable {
    public var capabilities: Set<Capability>
    public var platforms: PlatformFilter

    public func met(by board: any Board) -> Bool { unmet(by: board) == nil }

    /// What the board lacks for these requirements, or nil when it has it all.
    public func unmet(by board: any Board) -> String? {
        let missing = capabilities.subtracting(board.capabilities)
        var reasons: [String] = []
        if !missing.isEmpty { reasons.append("\(board.name) lacks \(missing.map(\.rawValue).sorted().joined(separator: ", "))") }
        if !platforms.matches(board.platform) { reasons.append("runs on \(platforms) only, not \(board.platform.buildName)") }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }
}

/// Which platforms something applies to.
public enum PlatformFilter: Sendable, CustomStringConvertible {
    case any
    case generations(Set<Generation>)
    case families(Set<MCUFamily>)
    case platforms(Set<String>)

    public func matches(_ platform: Platform) -> Bool {
        switch self {
        case .any: true
        case .generations(let set): set.contains(platform.generation)
        case .families(let set): set.contains(platform.mcu)
        case .platforms(let names): names.contains(platform.buildName)
        }
    }

    public var description: String {
        switch self {
        case .any: "every platform"
        case .generations(let set): set.sorted().map(\.description).joined(separator: ", ")
        case .families(let set): set.map(\.rawValue).sorted().joined(separator: ", ")
        case .platforms(let names): names.sorted().joined(separator: ", ")
        }
    }
}

/// A failure the bench expects on some platforms, because the firmware there behaves so.
/// It is reported as a known failure and does not fail the run; a pass is reported loudly.
public struct KnownIssue: Sendable {
    public var platforms: PlatformFilter
    public var reason: String
    /// Where the behaviour comes from: a source file, a reference section.
    public var source: String

    public init(on platforms: PlatformFilter, _ reason: String, source: String) {
        self.platforms = platforms
        self.reason = reason
        self.source = source
    }
}
