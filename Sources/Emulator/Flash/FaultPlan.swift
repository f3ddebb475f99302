/// Faults to inject into a board's flash operations. Operation numbers count from the
/// board's last `resetOperationLog`, 1-based.
public struct FaultPlan: Hashable, Sendable {
    /// The power is lost just before this operation starts: it does not happen.
    public var powerLossBeforeOperation: Int?
    /// The power is lost during this operation: only the first `landedBytes` of it happen
    /// (of a program: that many bytes programmed; of an erase: that many bytes erased).
    public var tornOperation: (number: Int, landedBytes: Int)?
    /// Bits that flip after an operation completes (a disturbed cell).
    public var bitFlips: [BitFlip]

    public struct BitFlip: Hashable, Sendable {
        public var device: FlashDevice
        public var address: UInt32
        public var bit: Int
        /// The flip happens once this many operations have completed (0: at once).
        public var afterOperation: Int

        public init(device: FlashDevice, address: UInt32, bit: Int, afterOperation: Int = 0) {
            self.device = device
            self.address = address
            self.bit = bit
            self.afterOperation = afterOperation
        }
    }

    public init(powerLossBeforeOperation: Int? = nil, tornOperation: (number: Int, landedBytes: Int)? = nil, bitFlips: [BitFlip] = []) {
        self.powerLossBeforeOperation = powerLossBeforeOperation
        self.tornOperation = tornOperation
        self.bitFlips = bitFlips
    }

    public static let none = FaultPlan()

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.powerLossBeforeOperation == rhs.powerLossBeforeOperation && lhs.bitFlips == rhs.bitFlips
            && lhs.tornOperation?.number == rhs.tornOperation?.number && lhs.tornOperation?.landedBytes == rhs.tornOperation?.landedBytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(powerLossBeforeOperation)
        hasher.combine(tornOperation?.number)
        hasher.combine(tornOperation?.landedBytes)
        hasher.combine(bitFlips)
    }
}

/// Thrown out of whatever the board was doing when its power went.
public struct PowerLost: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: Int
    public var description: String { "power lost at flash operation \(operation)" }
}
