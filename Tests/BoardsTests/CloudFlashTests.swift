import Boards
import Cloud
import Emulator
import Firmware
import ScenarioAPI
import Foundation
import LocalCloud
import TestSupport
import Testing

@Suite("Updating a board through a cloud API", .timeLimit(.minutes(10)))
struct CloudFlashTests {
    @Test("A board that never comes online ends the flash with a timeout naming it; an unknown device is the API's 404")
    func timeoutAndUnknownDevice() async throws {
        let folder = try temporaryFolder("cloud-flash")
        let store = try LocalCloudStore(path: folder.appendingPathComponent("cloud.sqlite").path)
        let offline = "e00fce680000000000000042"
        try store.addDevices(product: "bench", [offline])
        let server = LocalCloudServer(store: store, token: "t")
        let (ports, found) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run(port: 0, onRunning: { found.yield($0) }) }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let flash = CloudFlash(client: CloudClient(credentials: CloudCredentials(baseURL: "http://127.0.0.1:\(port)", token: "t")),
                               timeout: .milliseconds(800))
        let app = try FirmwareSet.application(for: Platform(buildName: "boron")!, size: 8_000, seed: 1)

        let started = ContinuousClock.now
        do {
            try await flash.flash(app, deviceID: offline)
            Issue.record("a flash to an offline board succeeded")
        } catch let error as CloudFlash.Failure {
            #expect(error == .timedOut(deviceID: offline, after: .milliseconds(800)), "\(error)")
        }
        #expect(started.duration(to: .now) < .seconds(10), "bounded by the flash's timeout")

        do {
            try await flash.flash(app, deviceID: "e00fce680000000000000099")
            Issue.record("a flash to an unknown device succeeded")
        } catch let error as CloudError {
            #expect(error.status == 404, "\(error)")
        }
        task.cancel()
        _ = await task.result
    }
}
