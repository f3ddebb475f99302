import Cloud
import Foundation
import LocalCloud
import TestSupport
import Testing

/// Locking a device to a product firmware version (`desired_firmware_version`), end to end on an
/// emulated board over its TLS session: the lock wins over the release, at the device's next
/// session, or at once with `flash: true`.
@Suite("Firmware locks over the device channel", .serialized, .timeLimit(.minutes(5)))
struct FirmwareLockTests {
    /// The spark/ events of a stream as "name:data", up to and including the first that `last` matches.
    static func events(_ stream: inout AsyncThrowingStream<CloudEvent, any Error>.AsyncIterator, until last: (String) -> Bool) async throws -> [String] {
        var seen: [String] = []
        while let event = try await stream.next() {
            seen.append("\(event.name):\(event.data)")
            if last(seen[seen.count - 1]) { return seen }
        }
        Issue.record("the stream ended after \(seen)")
        return seen
    }

    @Test("A lock with flash:false starts no transfer; the device's next session transfers the locked version; flash:true sends one at once")
    func lockAtNextSession() async throws {
        try await CloudFleet.with(count: 1, folder: try temporaryFolder("fleet-lock")) { fleet in
            let client = fleet.client, id = fleet.ids[0], product = CloudFleet.product
            for version in 2...3 {
                _ = try await client.uploadProductFirmware(product: product, version: version, title: "v\(version)", binary: try CloudFleet.app(version: version))
            }
            var stream = try await client.events(deviceID: id, prefix: "spark/").makeAsyncIterator()
            let first = fleet.gateway.sessionsBegun(id)
            try await client.lockFirmware(product: product, deviceID: id.uppercased(), version: 2, flash: false)
            let locked = try await client.device(product: product, id)
            #expect(locked.desiredFirmwareVersion == 2 && locked.targetedFirmwareReleaseVersion == 1 && locked.firmwareVersion == 1)
            #expect(fleet.gateway.transfers.isEmpty)
            #expect(await fleet.versions() == [1])

            // The next session: the offline of this one comes before any flash, so no transfer
            // began in the session the lock was made in.
            fleet.gateway.dropConnection(id)
            try await fleet.gateway.waitForSession(id, beyond: first)
            let seen = try await Self.events(&stream) { $0.hasPrefix("spark/flash/status:") && !$0.hasSuffix("started ") }
            #expect(seen == ["spark/status:offline", "spark/status:online", "spark/flash/status:started ", "spark/flash/status:success "], "\(seen)")
            #expect(fleet.gateway.transfers.map(\.version) == [2] && fleet.gateway.transfers.allSatisfy { $0.outcome == .delivered })
            try await fleet.waitUntil("the board runs the locked v2") { await fleet.versions() == [2] }
            // Back after its reset on v2: the lock is met, and the release (v1) does not undo it.
            try await fleet.gateway.waitForSession(id, beyond: first + 1)
            #expect(try fleet.gateway.store.currentDelivery(device: id) == .upToDate)
            #expect(try await client.device(product: product, id).firmwareVersion == 2)

            // flash:true: the online device gets the new lock now, in the session it has.
            var now = try await client.events(deviceID: id, prefix: "spark/").makeAsyncIterator()
            let sessions = fleet.gateway.sessionsBegun(id)
            try await client.lockFirmware(product: product, deviceID: id, version: 3, flash: true)
            let pushed = try await Self.events(&now) { $0.hasPrefix("spark/flash/status:") && !$0.hasSuffix("started ") }
            #expect(pushed == ["spark/flash/status:started ", "spark/flash/status:success "], "\(pushed)")
            #expect(fleet.gateway.sessionsBegun(id) == sessions, "no new session was needed")
            try await fleet.waitUntil("the board runs the locked v3") { await fleet.versions() == [3] }
        }
    }
}
