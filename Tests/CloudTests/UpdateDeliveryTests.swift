import Cloud
import Emulator
import Firmware
import Foundation
import LocalCloud
import TestSupport
import Testing

/// The cloud's side of fleet updates (§8.3), on a fleet of 60 devices: who gets a release and
/// when, and what update control does to it. Releases go through the REST API; device
/// sessions call the cloud in-process (the device-facing network channel comes later).
@Suite("Fleet update delivery", .serialized, .timeLimit(.minutes(10)))
struct UpdateDeliveryTests {
    static let product = "fleet"
    static let fleet = (1...60).map { String(format: "e00fce68%016x", 0x1000 + $0) }

    static func setUp(_ folder: URL) async throws -> (RunningCloud, CloudClient, LocalCloudStore) {
        let cloud = try await RunningCloud.start(database: folder.appendingPathComponent("cloud.sqlite").path)
        let client = cloud.client()
        try await client.addDevices(product: product, fleet)
        for id in fleet.prefix(10) { try await client.setGroups(product: product, deviceID: id, ["beta"]) }
        for version in 1...3 {
            _ = try await client.uploadProductFirmware(product: product, version: version, title: "v\(version)",
                                                       binary: try SampleModules.userApp(for: SampleModules.platform("boron"), systemVersion: 5800,
                                                                                         seed: UInt64(version)))
        }
        _ = try await client.release(product: product, FirmwareRelease(version: 1, productDefault: true))
        // Every device starts on v1, online.
        for id in fleet { #expect(try cloud.server.store.sessionStarted(device: id, firmwareVersion: 1, updatesEnabled: true) == .upToDate) }
        return (cloud, client, cloud.server.store)
    }

    @Test("A release to a group reaches only that group; a gradual release waits for the next session, an immediate one goes now")
    func groupsGradualImmediate() async throws {
        let (cloud, client, store) = try await Self.setUp(try temporaryFolder("delivery-groups"))
        defer { Task { await cloud.stop() } }
        // Gradual, to beta: nothing is pushed; beta devices get it at their next session, others not.
        let gradual = try await client.release(product: Self.product, FirmwareRelease(version: 2, groups: ["beta"]))
        #expect(try store.immediateDeliveries(product: Self.product, release: gradual).isEmpty)
        for id in Self.fleet {
            try store.sessionEnded(device: id)
            let delivery = try store.sessionStarted(device: id, firmwareVersion: 1, updatesEnabled: true)
            #expect(delivery == (Self.fleet.prefix(10).contains(id) ? .deliver(version: 2, forced: false) : .upToDate), "\(id)")
        }
        for id in Self.fleet.prefix(10) { try store.firmwareApplied(device: id, version: 2) }

        // Immediate, product-wide: every online device not on v3 gets it now; offline ones at their next session.
        for id in Self.fleet.suffix(5) { try store.sessionEnded(device: id) }
        let immediate = try await client.release(product: Self.product, FirmwareRelease(version: 3, productDefault: true, intelligent: true))
        let pushed = try store.immediateDeliveries(product: Self.product, release: immediate)
        #expect(pushed.count == 55)
        // Beta's group release (v2) still wins over the product default for beta devices.
        #expect(pushed.filter { $0.delivery == .deliver(version: 3, forced: false) }.count == 45)
        #expect(pushed.filter { $0.delivery == .upToDate }.count == 10)
        #expect(try store.sessionStarted(device: Self.fleet[59], firmwareVersion: 1, updatesEnabled: true) == .deliver(version: 3, forced: false))
        #expect(try await client.device(product: Self.product, Self.fleet[59]).targetedFirmwareReleaseVersion == 3)
    }

    @Test("Updates disabled: held and told pending once; delivered once enabled; a forced release overrides the disable")
    func updateControl() async throws {
        let (cloud, client, store) = try await Self.setUp(try temporaryFolder("delivery-control"))
        defer { Task { await cloud.stop() } }
        let holder = Self.fleet[20], forcedOne = Self.fleet[21]
        _ = try store.updatesEnabledChanged(device: holder, enabled: false)
        _ = try store.updatesEnabledChanged(device: forcedOne, enabled: false)
        let release = try await client.release(product: Self.product, FirmwareRelease(version: 2, productDefault: true, intelligent: true))
        let pushed = Dictionary(uniqueKeysWithValues: try store.immediateDeliveries(product: Self.product, release: release).map { ($0.device, $0.delivery) })
        #expect(pushed[holder] == .held(notifyPending: true))
        #expect(try store.sessionStarted(device: holder, firmwareVersion: 1, updatesEnabled: false) == .held(notifyPending: false),
                "told once, not at every session")
        #expect(try store.updatesEnabledChanged(device: holder, enabled: true) == .deliver(version: 2, forced: false))

        try await client.setUpdatesForced(product: Self.product, deviceID: forcedOne, true)
        #expect(try await client.device(product: Self.product, forcedOne).firmwareUpdatesForced)
        #expect(try store.sessionStarted(device: forcedOne, firmwareVersion: 1, updatesEnabled: false) == .deliver(version: 2, forced: true))
    }

    @Test("A delivered binary is the uploaded one, and an emulated board takes it through its cloud update path")
    func deliveredBinaryRuns() async throws {
        let (cloud, client, store) = try await Self.setUp(try temporaryFolder("delivery-binary"))
        defer { Task { await cloud.stop() } }
        let boron = Platform(buildName: "boron")!
        let app = try FirmwareSet.application(for: boron, size: 30_000, seed: 9, systemVersion: try FirmwareSet.standard(for: boron).systemVersion)
        _ = try await client.uploadProductFirmware(product: Self.product, version: 4, title: "v4", binary: app)
        _ = try await client.release(product: Self.product, FirmwareRelease(version: 4, groups: ["beta"]))
        let id = Self.fleet[0]
        guard case .deliver(let version, _) = try store.sessionStarted(device: id, firmwareVersion: 1, updatesEnabled: true) else {
            Issue.record("no delivery")
            return
        }
        let binary = try store.binary(product: Self.product, version: version)
        #expect(binary == app)
        var board = try BoardModel.provisioned(platform: boron, deviceID: id)
        try board.receiveUpdate(binary, source: .cloud)
        #expect(board.runningApp?.size == app.count)
        try store.firmwareApplied(device: id, version: version)
        #expect(try store.sessionStarted(device: id, firmwareVersion: version, updatesEnabled: true) == .upToDate)
    }

    @Test("A lock wins over releases from the next session, an intelligent release passes a locked device by, unlocking hands it back; development opts out of both")
    func locksAndDevelopment() async throws {
        let (cloud, client, store) = try await Self.setUp(try temporaryFolder("delivery-locks"))
        defer { Task { await cloud.stop() } }
        let locked = Self.fleet[30], developer = Self.fleet[31]
        try await client.lockFirmware(product: Self.product, deviceID: locked, version: 3)
        #expect(try store.sessionStarted(device: locked, firmwareVersion: 1, updatesEnabled: true) == .deliver(version: 3, forced: false))
        try store.firmwareApplied(device: locked, version: 3)
        let release = try await client.release(product: Self.product, FirmwareRelease(version: 2, productDefault: true, intelligent: true))
        let pushed = try store.immediateDeliveries(product: Self.product, release: release).map(\.device)
        #expect(!pushed.contains(locked) && pushed.contains(Self.fleet[29]))
        #expect(try store.sessionStarted(device: locked, firmwareVersion: 3, updatesEnabled: true) == .upToDate, "still on its lock")
        try await client.unlockFirmware(product: Self.product, deviceID: locked)
        #expect(try store.sessionStarted(device: locked, firmwareVersion: 3, updatesEnabled: true) == .deliver(version: 2, forced: false))

        try await client.setDevelopment(product: Self.product, deviceID: developer, true)
        #expect(try store.sessionStarted(device: developer, firmwareVersion: 1, updatesEnabled: true) == .upToDate, "released v2 is not sent")
        try await client.lockFirmware(product: Self.product, deviceID: developer, version: 3)
        #expect(try store.sessionStarted(device: developer, firmwareVersion: 1, updatesEnabled: true) == .upToDate, "nor a lock")
        try await client.setDevelopment(product: Self.product, deviceID: developer, false)
        #expect(try store.sessionStarted(device: developer, firmwareVersion: 1, updatesEnabled: true) == .deliver(version: 3, forced: false))
    }
}
