/// Where a power cut lands in an update: a phase, and the trigger that cuts within it.
public struct PowerCut: Hashable, Sendable, CustomStringConvertible {
    public enum Phase: String, Hashable, Sendable {
        /// Staging erase and download, before anything is queued.
        case download
        /// The bootloader's copy at the next boot: among the writes of the copy.
        case apply
        /// A DfuSe write through the bootloader (`flash(_:via:cuttingPower:)`): among its blocks.
        case dfuWrite = "dfu-write"
    }

    /// What fires the cut.
    public enum Trigger: Hashable, Sendable, CustomStringConvertible {
        /// 0 ≤ fraction < 1 of the phase: of the bytes sent for a download; for the apply phase,
        /// of the copy's writes on an emulated board, of the board's apply window on a real one.
        case fraction(Double)
        /// Once the host has sent this many bytes of the image.
        case byteOffset(Int)
        /// When the board prints a console line containing this text.
        case consoleLine(String)
        /// This long after an event of the update.
        case delay(Duration, after: Event)

        public var description: String {
            switch self {
            case .fraction(let fraction): "\(Int((fraction * 100).rounded()))%"
            case .byteOffset(let bytes): "byte \(bytes)"
            case .consoleLine(let text): "console \"\(text)\""
            case .delay(let delay, let event): "\(delay) after \(event.rawValue)"
            }
        }
    }

    public enum Event: String, Hashable, Sendable {
        /// The host starts sending the image.
        case transferStarted = "transfer start"
        /// The board accepted the whole image.
        case transferFinished = "transfer end"
        /// The board left USB to apply the update.
        case boardLeft = "board left USB"
    }

    public var phase: Phase
    public var trigger: Trigger
    /// How long the board stays off; nil takes the board's own (its inventory's `power-off-time`, 2 s by default).
    public var offTime: Duration?

    public init(_ phase: Phase, at fraction: Double, offTime: Duration? = nil) {
        self.offTime = offTime
        self.phase = phase
        trigger = .fraction(min(max(fraction, 0), 0.999_999))
    }

    public init(_ phase: Phase, trigger: Trigger, offTime: Duration? = nil) {
        self.phase = phase
        self.trigger = trigger
        self.offTime = offTime
    }

    /// `count` cut points spread evenly over `phase`.
    public static func spread(_ count: Int, over phase: Phase) -> [PowerCut] {
        (0..<count).map { PowerCut(phase, at: (Double($0) + 0.5) / Double(count)) }
    }

    public var description: String { "\(phase.rawValue) \(trigger)" }
}

/// What a triggered power cut did, for the case's measurements.
public struct PowerCutRecord: Hashable, Sendable {
    public var trigger: PowerCut.Trigger
    /// Bytes of the image the host had sent when the trigger fired, and when the power was off.
    public var sentAtTrigger: Int?
    public var sentAtCut: Int?
    /// From the trigger firing to the switch reporting the power off.
    public var latency: Duration
    public var offTime: Duration

    public init(trigger: PowerCut.Trigger, sentAtTrigger: Int?, sentAtCut: Int?, latency: Duration, offTime: Duration) {
        self.trigger = trigger
        self.sentAtTrigger = sentAtTrigger
        self.sentAtCut = sentAtCut
        self.latency = latency
        self.offTime = offTime
    }
}
