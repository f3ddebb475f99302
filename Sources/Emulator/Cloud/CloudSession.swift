import CloudOTA
import Firmware
import Links

/// An emulated board's end of a cloud session: each call is the board's Device OS handling the
/// message, whether the cloud calls in-process or over the board's network connection
/// (`EmulatedCloudConnection`). A board that is off or not running Device OS is gone.
public struct EmulatedCloudSession: CloudUpdateLink {
    public let board: BoardEmulator

    public init(board: BoardEmulator) {
        self.board = board
    }

    public func start(size: Int, sha256: [UInt8], chunkSize: Int) async throws -> Int {
        try await reachable()
        return try await gone { try await board.update { model in try model.cloudUpdateStart(size: size, sha256: sha256, chunkSize: chunkSize) } }
    }

    public func chunk(index: Int, data: [UInt8]) async throws -> CloudTransferAck {
        try await reachable()
        return try await gone { try await board.update { model in try model.cloudUpdateChunk(index: index, data: data) } }
    }

    public func finish(cancel: Bool) async throws {
        try await reachable()
        try await gone { try await board.update { model in try model.cloudUpdateFinish(cancel: cancel) } }
    }

    /// A call that failed because the board lost its power (or left Device OS) fails as the
    /// board being gone: it cannot answer any more.
    private func gone<T: Sendable>(_ call: () async throws -> T) async throws -> T {
        do { return try await call() } catch {
            try await reachable()
            throw error
        }
    }

    private func reachable() async throws {
        guard await board.snapshot().runsDeviceOS else { throw LinkError.disconnected }
    }
}

extension EmulatedCloudSession: CloudDevice {
    public func hello() async throws -> DeviceHello {
        try await reachable()
        return await board.update { model in
            // The hello is the last step of the handshake: Device OS counts itself connected now.
            model.cloudConnected = true
            return DeviceHello(deviceID: model.deviceID, platformID: model.platform.id.rawValue, productVersion: model.runningProductVersion,
                        updatesEnabled: model.updateFlags.enabled, updatesForced: model.updateFlags.forced)
        }
    }

    public func received(event name: String, data: String) async -> [(name: String, data: String)] {
        await board.update { model in
            switch name {
            case "particle/device/updates/pending":
                model.receiveUpdatesPendingNotice(data)
                return []
            case "particle/device/updates/forced":
                let before = model.updateFlags.forced
                model.receiveUpdatesForcedNotice(data)
                // Device OS echoes a change of the forced flag as its acknowledgement.
                return model.updateFlags.forced == before ? [] : [("particle/device/updates/forced", model.updateFlags.forced ? "true" : "false")]
            default:
                return []
            }
        }
    }
}

extension BoardModel {
    /// The product firmware version in the suffix of the application it runs, as Device OS
    /// reports it in its hello.
    public var runningProductVersion: Int? {
        guard let app = runningApp else { return nil }
        let bytes = storage.read(.internal, app.start, count: app.size)
        return (try? ModuleFile(bytes: bytes))?.modules.first?.product.map { Int($0.version) }
    }
}
