import Firmware
import Links

/// What a scenario body gets: the board, firmware by role, steps, measurements and
/// expectations. Everything it records reaches the results as each step ends.
public final class ScenarioContext: Sendable {
    public let board: any Board
    public let firmware: FirmwareLibrary
    let recorder: any CaseRecording
    let stepTimeout: Duration
    let clock: any Clock<Duration>

    public init(board: any Board, firmware: FirmwareLibrary, recorder: any CaseRecording, stepTimeout: Duration,
                clock: any Clock<Duration> = ContinuousClock()) {
        self.board = board
        self.firmware = firmware
        self.recorder = recorder
        self.stepTimeout = stepTimeout
        self.clock = clock
    }

    public func image(_ role: FirmwareRole) -> FirmwareImage { firmware.image(role) }

    /// The board's facet of type `F`. The runner plans a case only on a board with the facets
    /// its scenario requires, so a missing one is the scenario's mistake: a bench error.
    public func facet<F>(_ type: F.Type) throws -> F {
        guard let facet = board.facet(type) else {
            throw BoardError(board: board.name, operation: "a scenario asked for a facet", .missingFacet("\(type)"))
        }
        return facet
    }

    /// A named step with its own timeout; its outcome and duration are recorded when it ends.
    @discardableResult
    public func step<T: Sendable>(_ name: String, timeout: Duration? = nil, _ body: @Sendable () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        await recorder.stepStarted(name)
        do {
            let value = try await withTimeout(timeout ?? stepTimeout, what: "step \"\(name)\"", clock: clock) { try await body() }
            await recorder.stepEnded(name, duration: ContinuousClock.now - started, failure: nil)
            return value
        } catch {
            await recorder.stepEnded(name, duration: ContinuousClock.now - started, failure: "\(error)")
            throw error
        }
    }

    /// Records a measurement; outside its limits it fails the case.
    public func measure(_ name: String, _ value: Double, unit: String, limits: ClosedRange<Double>? = nil) async throws {
        let within = limits.map { $0.contains(value) } ?? true
        await recorder.measurement(Measurement(name: name, value: value, unit: unit, lower: limits?.lowerBound,
                                               upper: limits?.upperBound, withinLimits: within))
        if !within {
            throw ExpectationFailure(expected: "\(name) within \(limits!)", actual: "\(value) \(unit)", console: await consoleLines())
        }
    }

    /// Records what the case's power cut did: the switch's latency from trigger to power off, and
    /// how far into the image the cut landed. Fails when the board records no cut in this case:
    /// whatever the case checks next would not be about a cut.
    public func recordPowerCut() async throws {
        guard let cut = await board.facet((any PowerControl).self)?.lastPowerCut() else {
            throw ExpectationFailure(expected: "a power cut in this case", actual: "the board records none", console: await consoleLines())
        }
        let latency = cut.latency.components
        try await measure("power-cut latency", Double(latency.seconds) * 1000 + Double(latency.attoseconds) / 1e15, unit: "ms")
        if let landed = cut.sentAtCut { try await measure("power cut landed at", Double(landed), unit: "bytes") }
    }

    /// Fails with the console attached when `condition` is false.
    public func expect(_ condition: Bool, _ what: @autoclosure () -> String) async throws {
        guard !condition else { return }
        throw ExpectationFailure(expected: what(), actual: "it was not so", console: await consoleLines())
    }

    /// Fails with expected vs actual and the console attached.
    public func expect<T: Equatable & Sendable>(_ actual: T, equals expected: T, _ what: String) async throws {
        guard actual != expected else { return }
        throw ExpectationFailure(expected: "\(what): \(expected)", actual: "\(actual)", console: await consoleLines())
    }

    /// Fails unless `body` throws; returns what it threw.
    @discardableResult
    public func expectFailure(_ what: String, _ body: @Sendable () async throws -> Void) async throws -> any Error {
        do {
            try await body()
        } catch {
            return error
        }
        throw ExpectationFailure(expected: "\(what) to fail", actual: "it succeeded", console: await consoleLines())
    }

    /// Fails unless `body` throws a `BoardError` whose cause `matches`; returns it.
    @discardableResult
    public func expectFailure(_ what: String, because expected: String, matching matches: @Sendable (BoardError.Cause) -> Bool,
                              _ body: @Sendable () async throws -> Void) async throws -> BoardError {
        let error = try await expectFailure(what, body)
        guard let failure = error as? BoardError, matches(failure.cause) else {
            throw ExpectationFailure(expected: "\(what) to fail: \(expected)", actual: "it failed otherwise: \(error)", console: await consoleLines())
        }
        return failure
    }

    /// Fails unless `body` fails with the device refusing with `systemError`.
    @discardableResult
    public func expectRefusal(_ systemError: SystemError, _ what: String, _ body: @Sendable () async throws -> Void) async throws -> BoardError {
        try await expectFailure(what, because: "the device's \(systemError.name)", matching: { $0 == .refused(systemError) }, body)
    }

    /// The board's running app: the identity scenarios assert on.
    public func runningApp() async throws -> ModuleSummary? { try await facet((any ModuleTable).self).runningApp() }

    /// The board's module table.
    public func modules() async throws -> [ModuleSummary] { try await facet((any ModuleTable).self).modules() }

    /// What the board printed in this case, when it has a console; attached to failures.
    public func consoleLines() async -> [String] { await board.facet((any Console).self)?.lines() ?? [] }
}

/// Where a case's steps and measurements go as they end: the bench's results store.
public protocol CaseRecording: Sendable {
    func stepStarted(_ name: String) async
    func stepEnded(_ name: String, duration: Duration, failure: String?) async
    func measurement(_ measurement: Measurement) async
}

/// A failed expectation: what was expected, what the board said, and its console.
public struct ExpectationFailure: Error, Sendable, CustomStringConvertible {
    public var expected: String
    public var actual: String
    public var console: [String]

    public var description: String { "expected \(expected), but \(actual)" }
}

public struct Measurement: Hashable, Sendable, Codable {
    public var name: String
    public var value: Double
    public var unit: String
    public var lower: Double?
    public var upper: Double?
    public var withinLimits: Bool

    public init(name: String, value: Double, unit: String, lower: Double?, upper: Double?, withinLimits: Bool) {
        self.name = name
        self.value = value
        self.unit = unit
        self.lower = lower
        self.upper = upper
        self.withinLimits = withinLimits
    }
}

