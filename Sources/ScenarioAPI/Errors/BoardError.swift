import Firmware
import Links

/// Why a board operation failed: the board, what was being done, and the cause as a value a
/// scenario matches on (never text to search).
public struct BoardError: Error, Hashable, Sendable, CustomStringConvertible {
    public var board: String
    public var operation: String
    public var cause: Cause

    public init(board: String, operation: String, _ cause: Cause) {
        self.board = board
        self.operation = operation
        self.cause = cause
    }

    public enum Cause: Hashable, Sendable, CustomStringConvertible {
        /// The device refused, with its Device OS system error.
        case refused(SystemError)
        /// The device answered with a system error code Device OS has no name for here.
        case refusedWithCode(Int32)
        /// The cloud reported that the update failed (`spark/flash/status` failed): the device
        /// refused it or the transfer broke.
        case cloudReportedFailure(String)
        /// The link failed: a stall, a disconnect, no answer, an I/O error.
        case link(LinkError)
        /// A wait ran out: what was awaited.
        case timedOut(String)
        /// The board did not do what it was asked: it did not reset, stayed in a mode, would not start.
        case misbehaved(String)
        /// The host-side guard refused the image before a byte was sent.
        case hostGuard([Incompatibility])
        /// The board lacks the facet an operation needs (named by its type).
        case missingFacet(String)
        /// The bench itself: its set-up, a file, a cloud API it could not use.
        case bench(String)

        public var description: String {
            switch self {
            case .refused(let error): "the device refused: \(error.name)"
            case .refusedWithCode(let code): "the device refused: system error \(code)"
            case .cloudReportedFailure(let detail): "the cloud reports the update failed: \(detail)"
            case .link(let error): "\(error)"
            case .timedOut(let what): "timed out: \(what)"
            case .misbehaved(let what): what
            case .hostGuard(let problems): "refused by the host guard: " + problems.map(\.description).joined(separator: "; ")
            case .missingFacet(let facet): "the board has no \(facet)"
            case .bench(let what): what
            }
        }
    }

    /// The system error the device refused with, when it refused.
    public var refusal: SystemError? { if case .refused(let error) = cause { error } else { nil } }

    public var description: String { "\(board): \(operation): \(cause)" }
}
