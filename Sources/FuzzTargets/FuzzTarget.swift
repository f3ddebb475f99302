/// The fuzz targets: each feeds bytes from outside to the code of the bench that reads them.
/// `Scripts/fuzz` runs one under libFuzzer through `otabench-fuzz`; FuzzTargetsTests replays
/// each one's seed corpus and recorded crashes (Tests/FuzzTargetsTests/Corpus, Crashes).
///
/// `run` must not trap or hang on any input. What the parsers throw is expected and ignored;
/// where an API offers a round trip (a message re-encoded and decoded again, a form written
/// again the way the client writes it) or promises something of what it returns, the target
/// checks it with `precondition`, so that a wrong answer crashes as a trap does and libFuzzer
/// keeps the input. No input makes a target wait on the wall clock: links are scripted from the
/// input and answer at once, timers are injected no-ops, and every read or answer loop ends
/// when the input is used up.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A firmware file as `ModuleFile` reads it, and the Deflate body of a compressed module.
    case moduleFile = "module-file"
    /// A YMODEM sender's bytes, to the receiver: pure, in pieces, and over a `ByteStream`.
    case ymodem
    /// A host's bytes on a listening-mode line, to the emulated board's receiver (Device OS's).
    case boardYModem = "board-ymodem"
    /// A device's replies to the DfuSe host (GETSTATUS, UPLOAD, stalls) over a `ControlPipe`.
    case dfuse
    /// A device's replies to the control-request client (INIT, CHECK, RECV, protobuf payloads).
    case controlReplies = "control-replies"
    /// What a board in listening mode prints, to the listening-mode client over a `ByteStream`.
    case listeningMode = "listening-mode"
    /// Frames from the device channel, to its `ByteToMessageDecoder`.
    case deviceChannel = "device-channel"
    /// An inventory file (TOML).
    case inventory
    /// Request bodies of the local cloud: multipart forms and JSON.
    case cloudHTTP = "cloud-http"
    /// A server-sent event stream, to the cloud client's parser.
    case eventStream = "event-stream"

    public func run(_ bytes: [UInt8]) {
        switch self {
        case .moduleFile: ModuleFileTarget.run(bytes)
        case .ymodem: YModemTarget.run(bytes)
        case .boardYModem: BoardYModemTarget.run(bytes)
        case .dfuse: DfuSeTarget.run(bytes)
        case .controlReplies: ControlRepliesTarget.run(bytes)
        case .listeningMode: ListeningModeTarget.run(bytes)
        case .deviceChannel: DeviceChannelTarget.run(bytes)
        case .inventory: InventoryTarget.run(bytes)
        case .cloudHTTP: CloudHTTPTarget.run(bytes)
        case .eventStream: EventStreamTarget.run(bytes)
        }
    }
}
