/// A device session as OTA protocol v3 moves a file over it (§8.2): the cloud's side calls,
/// the device answers. Carried by the emulator in-process, or by a network channel.
public protocol CloudUpdateLink: Sendable {
    /// UpdateStart; the device answers the offset to start from (a resumed transfer's).
    func start(size: Int, sha256: [UInt8], chunkSize: Int) async throws -> Int
    /// UpdateChunk; the device's acknowledgement.
    func chunk(index: Int, data: [UInt8]) async throws -> CloudTransferAck
    /// UpdateFinish: the device checks the whole file and applies it (or drops it with `cancel`).
    func finish(cancel: Bool) async throws
}

/// A session that carries chunks without waiting for each answer, as the network does: the
/// sender keeps up to a window of chunks in flight and reads the device's acknowledgements as
/// they come (§8.2: cumulative and selective, after every few chunks).
public protocol PipelinedCloudUpdateLink: CloudUpdateLink {
    /// Sends chunk `index` and returns once it is on its way.
    func post(index: Int, data: [UInt8]) async throws
    /// The next acknowledgement of posted chunks, in the order the device sent them; nil when
    /// none came within `timeout`.
    func nextAcknowledgement(within timeout: Duration) async throws -> CloudTransferAck?
}

/// Every chunk below `upTo` is in, and the later ones in `selective`.
public struct CloudTransferAck: Hashable, Sendable {
    public var upTo: Int
    public var selective: [Int]

    public init(upTo: Int, selective: [Int]) {
        self.upTo = upTo
        self.selective = selective
    }
}
