/// Why a DfuSe operation failed, with what the device said.
public enum DfuSeError: Error, Hashable, Sendable {
    case deviceError(operation: String, status: DFUStatus, state: DFUState)
    case unexpectedState(operation: String, state: DFUState)
    case badReply(String)
    case addressOutsideMemory(UInt32)
    case timedOut(String)
}

extension DfuSeError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .deviceError(let operation, let status, let state): "\(operation) failed: the device reports \(status) in \(state)"
        case .unexpectedState(let operation, let state): "\(operation): the device is in \(state)"
        case .badReply(let text): "malformed DFU reply: \(text)"
        case .addressOutsideMemory(let address): "address 0x\(String(address, radix: 16)) is outside the device's memory"
        case .timedOut(let operation): "\(operation) timed out"
        }
    }
}
