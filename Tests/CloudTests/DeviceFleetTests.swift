import Cloud
import CloudOTA
import Emulator
import Firmware
import Foundation
import LocalCloud
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// The cloud path end to end on fleets of 50 emulated boards: releases through the REST API,
/// delivered over each board's TLS session by OTA v3, run by the boards afterwards.
@Suite("Fleet releases over the device channel", .serialized, .timeLimit(.minutes(5)))
struct DeviceFleetTests {
    static let size = 50

    @Test("A group release reaches only that group; gradual waits for the next session, immediate goes to online boards now")
    func groupGradualImmediate() async throws {
        try await CloudFleet.with(count: Self.size, beta: 10, folder: try temporaryFolder("fleet-groups")) { fleet in
            let client = fleet.client
            for version in 2...3 {
                _ = try await client.uploadProductFirmware(product: CloudFleet.product, version: version, title: "v\(version)", binary: try CloudFleet.app(version: version))
            }
            // Gradual, to beta: nobody is updated while sessions go on.
            _ = try await client.release(product: CloudFleet.product, FirmwareRelease(version: 2, groups: ["beta"]))
            try await Task.sleep(for: .milliseconds(500))
            #expect(await fleet.versions() == Array(repeating: 1, count: Self.size))
            // The next session of five beta boards and five others: only the beta ones take v2.
            for index in Array(0..<5) + Array(20..<25) { fleet.connections[index].dropConnection() }
            try await fleet.waitUntil("the five beta boards run v2") { await fleet.versions().prefix(5).allSatisfy { $0 == 2 } }
            try await Task.sleep(for: .milliseconds(300))
            var versions = await fleet.versions()
            #expect(versions[5..<10].allSatisfy { $0 == 1 }, "beta boards without a new session")
            #expect(versions[10...].allSatisfy { $0 == 1 }, "boards outside the group")

            // Immediate, product-wide: every online board now; beta's own release still wins for beta.
            var stream = try await client.events(product: CloudFleet.product, prefix: "spark/flash/status").makeAsyncIterator()
            _ = try await client.release(product: CloudFleet.product, FirmwareRelease(version: 3, productDefault: true, intelligent: true))
            try await fleet.waitUntil("every board runs its release") {
                let now = await fleet.versions()
                return now.prefix(10).allSatisfy { $0 == 2 } && now.dropFirst(10).allSatisfy { $0 == 3 }
            }
            versions = await fleet.versions()
            #expect(versions == Array(repeating: 2, count: 10) + Array(repeating: 3, count: 40))
            // The event stream saw the flashes (started, then success), from the boards being updated.
            var seen: [String: [String]] = [:]
            while seen.values.reduce(0, { $0 + $1.count }) < 2 * 45, let event = try await stream.next() {
                seen[event.coreid, default: []].append(event.data)
            }
            #expect(seen.count == 45)
            #expect(seen.values.allSatisfy { $0 == ["started ", "success "] })
            // Each board was sent each file once, whole, from the start.
            for transfer in fleet.gateway.transfers {
                #expect(transfer.outcome == .delivered && transfer.resumedAt == 0 && transfer.chunksSent == transfer.chunkCount)
            }
        }
    }

    @Test("Updates disabled: held with the pending notice; forced overrides it; enabling lets the update in")
    func updateControl() async throws {
        try await CloudFleet.with(count: Self.size, folder: try temporaryFolder("fleet-control")) { fleet in
            let client = fleet.client
            for index in 0..<5 { await fleet.connections[index].disableUpdates() }
            try await fleet.waitUntil("the cloud knows five boards hold updates back") {
                var disabled = 0
                for index in 0..<5 where try await !client.device(product: CloudFleet.product, fleet.ids[index]).firmwareUpdatesEnabled { disabled += 1 }
                return disabled == 5
            }
            _ = try await client.uploadProductFirmware(product: CloudFleet.product, version: 2, title: "v2", binary: try CloudFleet.app(version: 2))
            _ = try await client.release(product: CloudFleet.product, FirmwareRelease(version: 2, productDefault: true, intelligent: true))
            try await fleet.waitUntil("the 45 others run v2") { await fleet.versions().dropFirst(5).allSatisfy { $0 == 2 } }
            try await fleet.waitUntil("the five held boards are told an update is pending") {
                var pending = 0
                for board in fleet.boards.prefix(5) where await board.update({ $0.updateFlags.pending }) { pending += 1 }
                return pending == 5
            }
            #expect(await fleet.versions().prefix(5).allSatisfy { $0 == 1 })
            for board in fleet.boards.prefix(5) {
                let events = await board.update { $0.events }
                #expect(events.contains(.firmwareUpdatePending))
                #expect(events.contains(.firmwareUpdateStatus(.pending)))
            }
            // Forced, on board 0: the flag goes down, the board echoes it, and the update goes through.
            try await client.setUpdatesForced(product: CloudFleet.product, deviceID: fleet.ids[0], true)
            try await fleet.waitUntil("the forced board runs v2") { await fleet.versions()[0] == 2 }
            #expect(await fleet.boards[0].update { $0.events }.contains(.updatesForcedPublished(true)))
            #expect(await fleet.versions()[1..<5].allSatisfy { $0 == 1 })
            // Enabling on the other four lets the held update in.
            for index in 1..<5 { await fleet.connections[index].enableUpdates() }
            try await fleet.waitUntil("the four enabled boards run v2") { await fleet.versions().prefix(5).allSatisfy { $0 == 2 } }
        }
    }

    @Test("A transfer cut by a dropped connection resumes where it stopped; a power cut starts over and completes")
    func droppedConnectionAndPowerCut() async throws {
        // A window of 16 chunks, so a transfer cut after chunk 30 has most of the file still to go.
        var sender = CloudUpdateSender()
        sender.window = 16 * 512
        try await CloudFleet.with(count: Self.size, folder: try temporaryFolder("fleet-resume"), sender: sender, appSize: 60_000) { fleet in
            let client = fleet.client
            // Boards 0..<10 lose their connection once they have acknowledged chunk 30 + index, once each.
            let dropped = NIOLockedValueBox(Set<String>())
            let gateway = fleet.gateway
            let droppers = Dictionary(uniqueKeysWithValues: fleet.ids.prefix(10).enumerated().map { ($1, 30 + $0) })
            gateway.watchAcknowledgements { device, ack in
                guard let at = droppers[device], ack.upTo > at, dropped.withLockedValue({ $0.insert(device).inserted }) else { return }
                gateway.dropConnection(device)
            }
            // Boards 10..<15 lose power in the middle of the download (20 flash operations after it starts).
            for board in fleet.boards[10..<15] {
                await board.update { $0.storage.faults = FaultPlan(powerLossBeforeOperation: $0.storage.operationCount + 40) }
            }
            _ = try await client.uploadProductFirmware(product: CloudFleet.product, version: 2, title: "v2", binary: try CloudFleet.app(version: 2, size: 60_000))
            _ = try await client.release(product: CloudFleet.product, FirmwareRelease(version: 2, productDefault: true, intelligent: true))
            try await fleet.waitUntil("the five cut boards are off") {
                var off = 0
                for board in fleet.boards[10..<15] where await board.mode == .off { off += 1 }
                return off == 5
            }
            for board in fleet.boards[10..<15] {
                let lost = await board.update { $0.transferLostAt }
                #expect(lost != nil && lost! > 0 && lost! < 60_000)
                await board.update { model in
                    model.storage.faults = .none
                    model.powerOn()
                }
            }
            // The gateway records a transfer once the board's finish answer is in, after the board runs it.
            try await fleet.waitUntil("every board runs v2, its transfer recorded") {
                guard fleet.gateway.transfers.filter({ $0.outcome == .delivered }).count == Self.size else { return false }
                return await fleet.versions().allSatisfy { $0 == 2 }
            }
            let transfers = fleet.gateway.transfers
            for (index, id) in fleet.ids.prefix(15).enumerated() {
                let mine = transfers.filter { $0.deviceID == id }
                #expect(mine.count == 2, "\(id): \(mine)")
                guard mine.count == 2, case .interrupted = mine[0].outcome else {
                    Issue.record("\(id): the first transfer was not interrupted: \(mine)")
                    continue
                }
                #expect(mine[1].outcome == .delivered)
                if index < 10 {
                    // Resumed from the partial data the board kept (at least what it had acknowledged;
                    // chunks in flight may have landed too), and only the rest sent.
                    #expect(mine[1].resumedAt >= (31 + index) * 512 && mine[1].resumedAt <= (31 + index + 16) * 512, "\(mine[1])")
                    #expect(mine[1].resumedAt % 512 == 0, "\(mine[1])")
                    #expect(mine[1].chunksSent == mine[1].chunkCount - mine[1].resumedAt / 512, "\(mine[1])")
                } else {
                    // The power cut took the partial data with the RAM state: from the start again.
                    #expect(mine[1].resumedAt == 0 && mine[1].chunksSent == mine[1].chunkCount)
                }
            }
            #expect(transfers.filter { !fleet.ids.prefix(15).contains($0.deviceID) }.allSatisfy { $0.outcome == .delivered && $0.resumedAt == 0 })
        }
    }

    @Test("A tampered chunk fails the board's SHA-256 check: refused, old app kept; the next session delivers it whole")
    func tamperedChunk() async throws {
        try await CloudFleet.with(count: Self.size, folder: try temporaryFolder("fleet-tamper")) { fleet in
            let client = fleet.client
            let victims = Set(fleet.ids.prefix(3))
            fleet.gateway.injectChunkFault { device, index, data in
                if victims.contains(device), index == 7 { data[100] ^= 0x01 }
            }
            _ = try await client.uploadProductFirmware(product: CloudFleet.product, version: 2, title: "v2", binary: try CloudFleet.app(version: 2))
            _ = try await client.release(product: CloudFleet.product, FirmwareRelease(version: 2, productDefault: true, intelligent: true))
            try await fleet.waitUntil("the untouched boards run v2") { await fleet.versions().dropFirst(3).allSatisfy { $0 == 2 } }
            try await fleet.waitUntil("the tampered transfers are refused") {
                fleet.gateway.transfers.filter { victims.contains($0.deviceID) }.count == 3
            }
            for transfer in fleet.gateway.transfers where victims.contains(transfer.deviceID) {
                guard case .refused(let reason) = transfer.outcome else {
                    Issue.record("\(transfer.deviceID): \(transfer.outcome)")
                    continue
                }
                #expect(reason.contains("SHA-256"))
            }
            #expect(await fleet.versions().prefix(3).allSatisfy { $0 == 1 })
            for board in fleet.boards.prefix(3) {
                #expect(await board.update { $0.console.contains { $0.text.contains("does not match its SHA-256") } })
                #expect(await board.mode == .running)
            }
            fleet.gateway.injectChunkFault(nil)
            for index in 0..<3 { fleet.connections[index].dropConnection() }
            try await fleet.waitUntil("the three boards run v2 after their next session") { await fleet.versions().allSatisfy { $0 == 2 } }
        }
    }

    @Test("Only the trusted cloud sends: a board refuses a cloud certified by another authority, and the cloud refuses a stranger board")
    func untrustedSender() async throws {
        let folder = try temporaryFolder("fleet-untrusted")
        try await CloudFleet.with(count: Self.size, folder: folder) { fleet in
            // A rogue cloud: the same products and devices, a release waiting, and happy to take the
            // bench's devices (it trusts their authority), but its own certificate is not the cloud's.
            let rogueStore = try LocalCloudStore(path: folder.appendingPathComponent("rogue.sqlite").path)
            let rogueAuthority = try CertificateAuthority.create(name: "rogue cloud authority")
            let rogueTrust = CloudTrust(cloudAuthority: rogueAuthority, deviceAuthority: fleet.gateway.trust.deviceAuthority,
                                        cloudIdentity: try rogueAuthority.issue(commonName: "rogue", hostName: CloudTrust.cloudHostName))
            let rogue = DeviceGateway(store: rogueStore, events: EventHub(), trust: rogueTrust)
            let rogueCloud = try await RunningCloud.start(database: "", gateway: rogue)
            let rogueClient = rogueCloud.client()
            try await rogueClient.addDevices(product: CloudFleet.product, fleet.ids)
            _ = try await rogueClient.uploadProductFirmware(product: CloudFleet.product, version: 9, title: "evil", binary: try CloudFleet.app(version: 9))
            _ = try await rogueClient.release(product: CloudFleet.product, FirmwareRelease(version: 9, productDefault: true))
            let (rogueTask, roguePort) = try await CloudFleet.serve(rogue)

            // A board provisioned by the bench (trusting the real cloud) pointed at the rogue one.
            let board = fleet.boards[0]
            let lured = EmulatedCloudConnection(board: board, client: try DeviceCloudClient(credentials: try fleet.gateway.trust.provisionDevice(fleet.ids[0]),
                                                                                            endpoint: DeviceCloudEndpoint(port: roguePort)),
                                                retryDelay: .milliseconds(100))
            let luredTask = Task { await lured.run() }
            try await fleet.waitUntil("the board has refused the rogue cloud") { lured.lastError != nil }
            guard case .untrustedPeer = lured.lastError else {
                Issue.record("expected a TLS refusal, got \(String(describing: lured.lastError))")
                return
            }
            #expect(lured.sessionEnds.isEmpty)
            #expect(rogue.transfers.isEmpty && rogue.onlineDevices.isEmpty)
            #expect(await board.update { $0.runningProductVersion } == 1)

            // A stranger board, certified by the rogue's device authority, at the real cloud.
            let strangerBoard = BoardEmulator(try BoardModel.provisioned(platform: CloudFleet.platform, deviceID: CloudFleet.deviceID(999)))
            try await fleet.client.addDevices(product: CloudFleet.product, [CloudFleet.deviceID(999)])
            let stranger = EmulatedCloudConnection(board: strangerBoard, client: try DeviceCloudClient(
                credentials: DeviceCredentials(identity: try CertificateAuthority.create(name: "foreign devices").issue(commonName: CloudFleet.deviceID(999)), trustedCloud: fleet.gateway.trust.cloudAuthority),
                endpoint: DeviceCloudEndpoint(port: fleet.gatewayPort)), retryDelay: .milliseconds(100))
            // A board that shows a real certificate but claims another board's id in its hello.
            let impostorBoard = BoardEmulator(try BoardModel.provisioned(platform: CloudFleet.platform, deviceID: fleet.ids[1]))
            let impostor = EmulatedCloudConnection(board: impostorBoard, client: try DeviceCloudClient(
                credentials: try fleet.gateway.trust.provisionDevice(CloudFleet.deviceID(999)), endpoint: DeviceCloudEndpoint(port: fleet.gatewayPort)),
                retryDelay: .milliseconds(100))
            let strangerTask = Task { await stranger.run() }
            let impostorTask = Task { await impostor.run() }
            try await fleet.waitUntil("the stranger has been turned away") { stranger.lastError != nil || !stranger.sessionEnds.isEmpty }
            try await fleet.waitUntil("the impostor has been turned away") { !impostor.sessionEnds.isEmpty || impostor.lastError != nil }
            #expect(!fleet.gateway.onlineDevices.contains(CloudFleet.deviceID(999)))
            #expect(fleet.gateway.onlineDevices.count == Self.size)
            // The real board 1 kept its session: the impostor displaced nobody.
            #expect(fleet.connections[1].sessionEnds.isEmpty && fleet.connections[1].sessionCount == 1)
            let refusals = fleet.gateway.refusals
            #expect(refusals.contains { $0.contains("the certificate names device \(CloudFleet.deviceID(999)), the hello \(fleet.ids[1])") }, "\(refusals)")
            #expect(refusals.contains { $0.contains("CERTIFICATE_VERIFY_FAILED") }, "a TLS refusal of the stranger: \(refusals)")
            #expect(rogue.refusals.contains { $0.contains("UNKNOWN_CA") }, "the board's alert to the rogue cloud: \(rogue.refusals)")
            luredTask.cancel()
            strangerTask.cancel()
            impostorTask.cancel()
            _ = await (luredTask.value, strangerTask.value, impostorTask.value)
            rogueTask.cancel()
            _ = await rogueTask.result
            await rogueCloud.stop()
        }
    }

    @Test("A restart of the cloud in the middle of a release loses nothing: the boards come back and get it, trusting the same cloud")
    func restartMidRelease() async throws {
        let folder = try temporaryFolder("fleet-restart")
        try await CloudFleet.with(count: Self.size, beta: 25, folder: folder) { fleet in
            _ = try await fleet.client.uploadProductFirmware(product: CloudFleet.product, version: 2, title: "v2", binary: try CloudFleet.app(version: 2))
            _ = try await fleet.client.release(product: CloudFleet.product, FirmwareRelease(version: 2, groups: ["beta"]))
            // The cloud goes down; the boards keep trying.
            fleet.gatewayTask.cancel()
            _ = await fleet.gatewayTask.result
            await fleet.cloud.stop()
            try await fleet.waitUntil("every board has noticed") { fleet.connections.allSatisfy { !$0.isConnected } }
            // Up again from its folder, on the same port: same database, same certificates.
            let store = try LocalCloudStore(path: folder.appendingPathComponent("cloud.sqlite").path)
            let gateway = DeviceGateway(store: store, events: EventHub(), trust: try CloudTrust.loadOrCreate(in: folder.appendingPathComponent("trust")))
            let (task, _) = try await CloudFleet.serve(gateway, port: fleet.gatewayPort)
            try await fleet.waitUntil("every board is back, the beta boards on v2, the others on v1") {
                guard gateway.onlineDevices.count == Self.size else { return false }
                let versions = await fleet.versions()
                return versions.prefix(25).allSatisfy { $0 == 2 } && versions.dropFirst(25).allSatisfy { $0 == 1 }
            }
            // The updated boards reset and connect again: all are back once that settles.
            try await fleet.waitUntil("every board is online again") { gateway.onlineDevices.count == Self.size }
            fleet.fleetTask.cancel()
            await fleet.fleetTask.value
            task.cancel()
            _ = await task.result
        }
    }

    @Test("Flashing one board through the API (the call a real board's bench makes) reaches it online, with the flash status events")
    func directFlash() async throws {
        try await CloudFleet.with(count: Self.size, folder: try temporaryFolder("fleet-direct")) { fleet in
            var events = try await fleet.client.events(product: CloudFleet.product).makeAsyncIterator()
            let acknowledgements = NIOLockedValueBox(0)
            fleet.gateway.watchAcknowledgements { _, _ in acknowledgements.withLockedValue { $0 += 1 } }
            // Another build of product version 1 (what the product's release targets): a device running
            // any other version would be sent the release again at its next session.
            let app = try FirmwareSet.application(for: CloudFleet.platform, size: 24_000, seed: 77, product: .init(id: 4242, version: 1))
            try await fleet.client.flashDevice(fleet.ids[7], firmware: app)
            try await fleet.waitUntil("board 7 runs the flashed app") { await fleet.boards[7].update { $0.runningApp?.size } == app.count }
            var names: [String] = []
            while names.count < 4, let event = try await events.next() {
                if event.coreid == fleet.ids[7] { names.append("\(event.name) \(event.data)") }
            }
            #expect(names == ["spark/flash/status started ", "spark/flash/status success ", "spark/status offline", "spark/status online"])
            #expect(fleet.gateway.transfers.map(\.deviceID) == [fleet.ids[7]])
            // The board acknowledges chunks in pairs (§8.2: after two chunks or 200 ms), cumulatively.
            let chunks = try #require(fleet.gateway.transfers.first).chunkCount
            let acks = acknowledgements.withLockedValue { $0 }
            #expect(acks >= chunks / 2 && acks < chunks, "\(acks) acknowledgements for \(chunks) chunks")
            // An application's own event reaches the product's stream, named by its device.
            fleet.connections[3].publish("temperature", "21.5")
            var appEvent: CloudEvent?
            while appEvent == nil, let event = try await events.next() {
                if event.name == "temperature" { appEvent = event }
            }
            #expect(appEvent?.coreid == fleet.ids[3] && appEvent?.data == "21.5")
        }
    }
}
