import Bench
import Boards
import Cloud
import CloudOTA
import Emulator
import EmulatorServers
import Firmware
import Foundation
import LocalCloud
import Links
import Testing
import USB

/// A board served on USB by umockdev, reaching its cloud over TLS as a real board reaches
/// Particle's: the bench's calls are Particle's cloud API, answered by the local cloud.
struct ServedBoardCloudDevice: CloudDevice {
    let index: Int

    /// Runs `body` on the served board (republished on USB if it reset); a board that is not
    /// running Device OS afterwards is gone.
    private func call<T: Sendable>(_ body: @escaping (inout BoardModel) throws -> T) throws -> T {
        var result: Result<T, any Error> = .failure(LinkError.disconnected)
        guard sharedUSB.board(index).runsDeviceOS else { throw LinkError.disconnected }
        sharedUSB.update(index) { model in result = Result { try body(&model) } }
        if case .failure = result, !sharedUSB.board(index).runsDeviceOS { throw LinkError.disconnected }
        return try result.get()
    }

    func start(size: Int, sha256: [UInt8], chunkSize: Int) async throws -> Int {
        try call { try $0.cloudUpdateStart(size: size, sha256: sha256, chunkSize: chunkSize) }
    }

    func chunk(index: Int, data: [UInt8]) async throws -> CloudTransferAck {
        try call { try $0.cloudUpdateChunk(index: index, data: data) }
    }

    func finish(cancel: Bool) async throws {
        try call { try $0.cloudUpdateFinish(cancel: cancel) }
    }

    func hello() async throws -> DeviceHello {
        try call { model in
            DeviceHello(deviceID: model.deviceID, platformID: model.platform.id.rawValue, productVersion: model.runningProductVersion,
                        updatesEnabled: model.updateFlags.enabled, updatesForced: model.updateFlags.forced)
        }
    }

    func received(event name: String, data: String) async -> [(name: String, data: String)] { [] }
}

extension EmulatedUSBTests {
    @Test("A board on USB updated through the cloud API: PUT /v1/devices/ID, OTA v3 over the board's TLS session, then checked over USB")
    func cloudUpdateOfAUSBBoard() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let boron = Platform(buildName: "boron")!
        let index = try sharedUSB.serve(try BoardModel.provisioned(platform: boron, deviceID: BoardModel.defaultDeviceID(boron, serial: 71)))
        let deviceID = sharedUSB.board(index).deviceID

        // The cloud: REST API and device gateway on loopback.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-usb-cloud-\(UUID().uuidString.prefix(8))")
        let store = try LocalCloudStore(path: folder.appendingPathComponent("cloud.sqlite").path)
        try store.addDevices(product: "usb-bench", [deviceID])
        let trust = try CloudTrust.create()
        let events = EventHub()
        let gateway = DeviceGateway(store: store, events: events, trust: trust)
        var server = LocalCloudServer(store: store, token: "usb-token", events: events)
        server.gateway = gateway
        let (apiPorts, apiFound) = AsyncStream.makeStream(of: Int.self)
        let (gatewayPorts, gatewayFound) = AsyncStream.makeStream(of: Int.self)
        let api = Task { try await server.run(port: 0, onRunning: { apiFound.yield($0) }) }
        let devices = Task { try await gateway.run(port: 0) { gatewayFound.yield($0) } }
        var apiIterator = apiPorts.makeAsyncIterator(), gatewayIterator = gatewayPorts.makeAsyncIterator()
        let apiPort = try #require(await apiIterator.next()), gatewayPort = try #require(await gatewayIterator.next())

        // The board's network side: connected while it runs, again after every reset.
        let client = try DeviceCloudClient(credentials: try trust.provisionDevice(deviceID), endpoint: DeviceCloudEndpoint(port: gatewayPort))
        let network = Task {
            while !Task.isCancelled {
                // The board publishes nothing here: an outbox that stays open until cancelled.
                let outbox = AsyncStream<(name: String, data: String)>(unfolding: {
                    try? await Task.sleep(for: .seconds(3600))
                    return nil
                })
                if (try? await client.session(device: ServedBoardCloudDevice(index: index), outbox: outbox)) == nil {
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        #expect(try await Self.waitFor { gateway.onlineDevices.contains(deviceID) })

        let cloud = CloudFlash(client: CloudClient(credentials: CloudCredentials(baseURL: "http://127.0.0.1:\(apiPort)", token: "usb-token")),
                               timeout: .seconds(60))
        let board = USBBoard(name: "usb-boron-cloud", platform: boron, deviceID: deviceID, cloud: cloud)
        #expect(board.capabilities.contains(.cloudOTA))
        // Particle's API reports nothing of the board's download: nowhere to cut its power.
        #expect(!board.capabilities.contains(.cloudPowerCut))
        #expect(board.facet((any CloudPowerCuts).self) == nil)
        let next = FirmwareImage(bytes: try FirmwareSet.application(for: boron, size: 30_000, seed: 71), label: "next")
        try await board.required((any CloudUpdates).self).update(to: next)
        #expect(try await board.waitUntilUp(timeout: .seconds(20)) == .running)
        #expect(try await board.runningApp()?.fingerprint == next.fingerprint, "read back over USB")

        // An image for another platform: the board refuses it, the cloud reports the flash failed.
        let foreign = FirmwareImage(bytes: try FirmwareSet.application(for: Platform(buildName: "argon")!, size: 20_000, seed: 72), label: "argon")
        let refused = await #expect(throws: BoardError.self) {
            try await board.required((any CloudUpdates).self).update(to: foreign)
        }
        #expect(refused.map { if case .cloudReportedFailure = $0.cause { true } else { false } } == true, "\(String(describing: refused))")
        #expect(try await board.runningApp()?.fingerprint == next.fingerprint)

        // A board without credentials has no cloud facet: nothing is planned on it that needs one.
        let plain = USBBoard(name: "usb-boron-plain", platform: boron, deviceID: deviceID)
        #expect(!plain.capabilities.contains(.cloudOTA))
        #expect(plain.facet((any CloudUpdates).self) == nil)

        network.cancel()
        _ = await network.value
        devices.cancel()
        api.cancel()
        _ = await (devices.result, api.result)
        sharedUSB.update(index) { $0.powerOff() }
    }
}
