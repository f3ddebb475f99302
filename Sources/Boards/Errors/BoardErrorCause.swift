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

extension BoardError.Cause {
    /// What Device OS printed when it refused an image sent by YMODEM. From 2.x, "Validation
    /// failed: -1330", a system error. Before, "Validation failed: 0x2", the validation flags
    /// that failed (MODULE_VALIDATION_* of module_info.h, v1.5.2 system_ymodem.cpp): read as
    /// the system error later releases give the same failure, the first of integrity,
    /// platform, dependencies and address range that failed.
    init(serialRefusal line: String) {
        let last = line.split(separator: " ").last.map(String.init) ?? ""
        if last.hasPrefix("0x"), let flags = UInt32(last.dropFirst(2), radix: 16) {
            let named: [(UInt32, SystemError)] = [(0x02, .otaIntegrityCheckFailed), (0x10, .otaInvalidPlatform),
                                                  (0x44, .otaDependencyCheckFailed), (0x08, .otaInvalidAddress)]
            if let (_, error) = named.first(where: { flags & $0.0 != 0 }) {
                self = .refused(error)
            } else {
                self = .misbehaved("the board refused the image with validation flags \(last): \(line)")
            }
        } else if let number = Int32(last) {
            self = SystemError(rawValue: number).map { .refused($0) } ?? .refusedWithCode(number)
        } else {
            self = .misbehaved("the board refused the image: \(line)")
        }
    }
}

/// Runs `body`, turning whatever it throws into a `BoardError` for `operation` on `board`.
func attempting<T>(_ board: String, _ operation: String, _ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch { throw BoardError(board: board, operation: operation, from: error) }
}
