import Foundation
import LocalCloud
import NIOConcurrencyHelpers
import Testing

/// The local cloud's times come from the clock its store is given, never straight from the
/// machine's: a device's last contact, a firmware's upload, a setting's change.
@Suite("Local cloud timestamps", .timeLimit(.minutes(2)))
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
}
