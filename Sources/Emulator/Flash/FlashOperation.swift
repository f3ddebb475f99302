/// What the board was doing when it touched flash: the phases of an update (§5.2).
public enum UpdatePhase: String, Hashable, Sendable, CaseIterable, Codable {
    case download
    case validate
    case queue
    case applyCopy = "apply-copy"
    case boot
    /// Flash written from outside: DFU, a test setting the board up.
    case external
}

/// Which storage an operation touched.
public enum FlashDevice: String, Hashable, Sendable, Codable {
    case `internal`
    case external
    /// The device configuration table: module slot records and flags.
    case dct
}

/// One erase or program, as the operation log records it.
public struct FlashOperation: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case erase, program
    }

    /// 1-based, counted from the board's last `resetOperationLog`.
    public var number: Int
    public var kind: Kind
    public var device: FlashDevice
    public var address: UInt32
    public var length: Int
    public var phase: UpdatePhase
    /// Program only: bytes that were not erased and so did not take the data.
    public var notErasedBytes: Int = 0
    /// Set when the power went during this operation and only part of it landed.
    public var torn: Bool = false
}
