import Cloud
import CloudOTA
import Emulator
import Firmware
import Foundation
import LocalCloud
import TestSupport
import Testing

/// A local cloud (REST and device gateway) and a fleet of emulated Borons that hold TLS
/// sessions with it, each with its own certificate, all starting on product firmware v1.
struct CloudFleet {
    static let product = "fleet"
    static let platform = Platform(buildName: "boron")!

    let cloud: RunningCloud
    let gateway: DeviceGateway
    let gatewayTask: Task<Void, any Error>
    let gatewayPort: Int
    let ids: [String]
    let boards: [BoardEmulator]
    let connections: [EmulatedCloudConnection]
    let fleetTask: Task<Void, Never>
    var client: CloudClient { cloud.client() }

    /// Product firmware `version`: an application whose suffix carries the product version.
    static func app(version: Int, size: Int = 20_000) throws -> [UInt8] {
        try FirmwareSet.application(for: platform, size: size, seed: UInt64(version), product: .init(id: 4242, version: UInt16(version)))
    }

    static func deviceID(_ index: Int) -> String { String(format: "e00fce68%016x", 0x2000 + index) }

    /// Starts the cloud and `count` boards; the first `beta` are in group "beta". Returns once
    /// every board has a session.
    static func start(count: Int, beta: Int = 0, folder: URL, trust: CloudTrust? = nil, sender: CloudUpdateSender = CloudUpdateSender(),
                      appSize: Int = 20_000) async throws -> CloudFleet {
        let trust = try trust ?? CloudTrust.loadOrCreate(in: folder.appendingPathComponent("trust"))
        let store = try LocalCloudStore(path: folder.appendingPathComponent("cloud.sqlite").path)
        let gateway = DeviceGateway(store: store, events: EventHub(), trust: trust, sender: sender)
        let (gatewayTask, gatewayPort) = try await Self.serve(gateway)
        let cloud = try await RunningCloud.start(database: "", gateway: gateway)
        let client = cloud.client()
        let ids = (0..<count).map(deviceID)
        try await client.addDevices(product: product, ids)
        if beta > 0 { for id in ids.prefix(beta) { try await client.setGroups(product: product, deviceID: id, ["beta"]) } }
        _ = try await client.uploadProductFirmware(product: product, version: 1, title: "v1", binary: try app(version: 1, size: appSize))
        _ = try await client.release(product: product, FirmwareRelease(version: 1, productDefault: true))

        var firmware = try FirmwareSet.standard(for: platform)
        firmware.application = try app(version: 1, size: appSize)
        let base = try BoardModel.provisioned(platform: platform, firmware: firmware)
        let boards = ids.map { BoardEmulator(base.cloned(deviceID: $0, defects: [])) }
        let connections = try zip(ids, boards).map { id, board in
            EmulatedCloudConnection(board: board, client: try DeviceCloudClient(credentials: try trust.provisionDevice(id),
                                                                                 endpoint: DeviceCloudEndpoint(port: gatewayPort)),
                                    retryDelay: .milliseconds(100))
        }
        let fleetTask = Task {
            await withDiscardingTaskGroup { group in
                for connection in connections { group.addTask { await connection.run() } }
            }
        }
        let fleet = CloudFleet(cloud: cloud, gateway: gateway, gatewayTask: gatewayTask, gatewayPort: gatewayPort, ids: ids, boards: boards,
                               connections: connections, fleetTask: fleetTask)
        do { try await fleet.waitUntil("every board is online") { gateway.onlineDevices.count == count } } catch {
            await fleet.stop()
            throw error
        }
        return fleet
    }

    /// A fleet for `body`, stopped afterwards whatever happens (its HTTP pool must be shut down).
    static func with(count: Int, beta: Int = 0, folder: URL, sender: CloudUpdateSender = CloudUpdateSender(), appSize: Int = 20_000,
                     _ body: (CloudFleet) async throws -> Void) async throws {
        let fleet = try await start(count: count, beta: beta, folder: folder, sender: sender, appSize: appSize)
        do { try await body(fleet) } catch {
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }

    static func serve(_ gateway: DeviceGateway, port: Int = 0) async throws -> (Task<Void, any Error>, Int) {
        try await LocalGateway.serve(gateway, port: port)
    }

    /// Polls until `condition` holds; a timeout is a test failure naming `what`.
    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)")
                throw DeviceChannelError.timedOut(what)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The product version each board runs, in fleet order.
    func versions() async -> [Int?] {
        var result: [Int?] = []
        for board in boards { result.append(await board.update { $0.runningProductVersion }) }
        return result
    }

    func stop() async {
        fleetTask.cancel()
        await fleetTask.value
        gatewayTask.cancel()
        _ = await gatewayTask.result
        await cloud.stop()
    }
}
