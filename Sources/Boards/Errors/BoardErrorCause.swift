import Cloud
import ControlRequests
import DFU
import Links
import ScenarioAPI

extension BoardError {
    /// `operation` on `board` failed with `error`, from whichever layer it came: its cause as
    /// the scenario API names it. A `BoardError` passes through as it is.
    public init(board: String, operation: String, from error: any Error) {
        if let error = error as? BoardError {
            self = error
            return
        }
        self.init(board: board, operation: operation, Cause(error))
    }
}

extension BoardError.Cause {
    init(_ error: any Error) {
        switch error {
        case let error as BoardError: self = error.cause
        case let error as ControlRequestError:
            switch error {
            case .failed(_, let result): self = SystemError(rawValue: result).map(Self.refused) ?? .refusedWithCode(result)
            case .timedOut: self = .timedOut("\(error)")
            case .status, .badReply: self = .misbehaved("\(error)")
            case .payloadTooLarge: self = .bench("\(error)")
            }
        case let error as LinkError: self = .link(error)
        case let error as TimeoutError: self = .timedOut("\(error)")
        case let error as DfuSeError:
            switch error {
            case .timedOut: self = .timedOut("\(error)")
            case .badReply: self = .link(.other("\(error)"))
            case .deviceError, .unexpectedState: self = .misbehaved("\(error)")
            case .addressOutsideMemory: self = .bench("\(error)")
            }
        case let error as CloudFlash.Failure:
            switch error {
            case .reportedFailed: self = .cloudReportedFailure("\(error)")
            case .timedOut: self = .timedOut("\(error)")
            case .streamEnded: self = .bench("\(error)")
            }
        default: self = .bench("\(error)")
        }
    }
}

/// Runs `body`, turning whatever it throws into a `BoardError` for `operation` on `board`.
func attempting<T>(_ board: String, _ operation: String, _ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch { throw BoardError(board: board, operation: operation, from: error) }
}
