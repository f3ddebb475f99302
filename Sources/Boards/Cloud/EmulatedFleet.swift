import Cloud
import CloudOTA
import Emulator
import Firmware
import Foundation
import LocalCloud

/// A fleet of emulated boards of one platform in a product of a local cloud, each provisioned
/// with its own certificate from the cloud's device authority and kept connected to the
/// cloud's device port as Device OS does: again after every reset, not while it is off.
public struct EmulatedFleet: Sendable {
    /// What the fleet runs when it stops.
    public struct Summary: Sendable {
        /// Boards per product firmware version; nil: no product firmware.
        public var versions: [(version: Int?, boards: Int)]
        /// Distinct reasons boards could not connect.
        public var refusals: [String]
    }

    private let boards: [BoardEmulator]
    private let connections: [EmulatedCloudConnection]

    /// Adds `count` boards to `product` through the cloud API (`credentials`) and provisions
    /// each from the trust folder, running an app of product version `appVersion`.
    public init(count: Int, platform: Platform, product: String, appVersion: UInt16, credentials: CloudCredentials,
                deviceCloud: (host: String, port: Int), trustFolder: URL) async throws {
        let cloudTrust = try CloudTrust.load(from: trustFolder)
        var firmware = try FirmwareSet.standard(for: platform)
        firmware.application = try FirmwareSet.application(for: platform, size: 24 << 10, seed: UInt64(appVersion),
                                                           product: .init(id: 4242, version: appVersion))
        let base = try BoardModel.provisioned(platform: platform, firmware: firmware)
        let ids = (1...count).map { BoardModel.defaultDeviceID(platform, serial: 0x100000 + $0) }
        try await CloudClient(credentials: credentials).addDevices(product: product, ids)
        let endpoint = DeviceCloudEndpoint(host: deviceCloud.host, port: deviceCloud.port)
        boards = ids.map { BoardEmulator(base.cloned(deviceID: $0, defects: [])) }
        connections = try zip(ids, boards).map { id, board in
            EmulatedCloudConnection(board: board, client: try DeviceCloudClient(credentials: try cloudTrust.provisionDevice(id), endpoint: endpoint))
        }
    }

    /// Keeps the boards connected until `until` returns; `onAllConnected` is called once, when
    /// every board first has a session (so a script can wait for it).
    public func run(onAllConnected: @escaping @Sendable (Int) -> Void, until: @escaping @Sendable () async -> Void) async -> Summary {
        let connections = self.connections
        await withTaskGroup(of: Void.self) { group in
            for connection in connections { group.addTask { await connection.run() } }
            group.addTask {
                while !Task.isCancelled, !connections.allSatisfy({ $0.sessionCount > 0 && $0.isConnected }) {
                    try? await Task.sleep(for: .milliseconds(100))
                }
                if !Task.isCancelled { onAllConnected(connections.count) }
            }
            await until()
            group.cancelAll()
        }
        var versions: [Int?: Int] = [:]
        for board in boards { versions[await board.update { $0.runningProductVersion }, default: 0] += 1 }
        let sorted = versions.sorted { ($0.key ?? -1) < ($1.key ?? -1) }.map { (version: $0.key, boards: $0.value) }
        let refusals = Array(Set(connections.compactMap(\.lastError).map { "\($0)" })).sorted()
        return Summary(versions: sorted, refusals: refusals)
    }
}
