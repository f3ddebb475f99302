import Links

/// An emulated board's end of a cloud session, called in-process: each call is the board's
/// Device OS handling the message. A board that is off or not running Device OS is gone.
public struct EmulatedCloudSession: CloudUpdateLink {
    public let board: EmulatedBoard

    public init(board: EmulatedBoard) {
        self.board = board
    }

    public func start(size: Int, sha256: [UInt8], chunkSize: Int) async throws -> Int {
        try await reachable()
        return try await board.update { model in try model.cloudUpdateStart(size: size, sha256: sha256, chunkSize: chunkSize) }
    }

    public func chunk(index: Int, data: [UInt8]) async throws -> CloudTransferAck {
        try await reachable()
        return try await board.update { model in try model.cloudUpdateChunk(index: index, data: data) }
    }

    public func finish(cancel: Bool) async throws {
        try await reachable()
        try await board.update { model in try model.cloudUpdateFinish(cancel: cancel) }
    }

    private func reachable() async throws {
        guard await board.snapshot().runsDeviceOS else { throw LinkError.disconnected }
    }
}
