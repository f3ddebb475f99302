import Foundation
import LocalCloud
import NIOConcurrencyHelpers
import Testing

/// The local cloud's times come from the clock its store is given, never straight from the
/// machine's: a device's last contact, a firmware's upload, a setting's change.
@Suite("Local cloud records: times from the store's clock, the cellular flag from the platform", .timeLimit(.minutes(2)))
struct CloudTimestampTests {
    static func database() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("otabench-cloud-time-\(UUID().uuidString)/cloud.sqlite").path
    }

    @Test("Sessions, uploads and setting changes are stamped with the store's clock, in Particle's ISO 8601 form")
    func stampsFromTheStoresClock() throws {
        let now = NIOLockedValueBox(Date(timeIntervalSince1970: 1_700_000_000))
        let store = try LocalCloudStore(path: Self.database(), now: { now.withLockedValue { $0 } })
        let device = "e00fce68000d000000000001"
        _ = try store.addDevices(product: "lab", [device])
        #expect(try store.device(device).lastHeard == nil)

        _ = try store.sessionStarted(device: device, firmwareVersion: 3, updatesEnabled: true)
        #expect(try store.device(device).lastHeard == "2023-11-14T22:13:20Z")
        now.withLockedValue { $0 += 90 }
        try store.sessionEnded(device: device)
        #expect(try store.device(device).lastHeard == "2023-11-14T22:14:50Z")

        now.withLockedValue { $0 += 10 }
        let firmware = try store.upload(product: "lab", version: 4, title: "v4", binary: [1, 2, 3], sha256: "00")
        #expect(firmware.uploadedOn == "2023-11-14T22:15:00Z")
        #expect(store.timestamp() == "2023-11-14T22:15:00Z")
    }

    @Test("A device's cellular flag follows its platform's, the E SoM X's included")
    func cellularFlag() throws {
        let store = try LocalCloudStore(path: Self.database())
        let ids = ["e00fce68000f000000000001", "e00fce68000c000000000001", "e00fce680006000000000001"]
        _ = try store.addDevices(product: "lab", ids)
        for (id, platform, cellular) in zip3(ids, [15, 12, 6], [true, false, false]) {
            _ = try store.sessionStarted(device: id, firmwareVersion: 1, updatesEnabled: true, platformID: platform)
            #expect(try store.device(id).cellular == cellular, "platform \(platform)")
        }
    }

    private func zip3<A, B, C>(_ a: [A], _ b: [B], _ c: [C]) -> [(A, B, C)] { zip(a, zip(b, c)).map { ($0, $1.0, $1.1) } }
}
