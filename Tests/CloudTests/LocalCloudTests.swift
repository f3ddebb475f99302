import AsyncHTTPClient
import Cloud
import Firmware
import Foundation
import LocalCloud
import TestSupport
import Testing

/// A local cloud on loopback for one test, stopped when the test ends.
final class RunningCloud: Sendable {
    let server: LocalCloudServer
    let task: Task<Void, any Error>
    let port: Int
    /// The test's own connection pool, closed before the server stops so it need not wait for it.
    let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(server: LocalCloudServer, task: Task<Void, any Error>, port: Int) {
        self.server = server
        self.task = task
        self.port = port
    }

    /// A test that failed before `stop` must not crash the run: the pool is shut down here then.
    deinit {
        try? http.syncShutdown()
        task.cancel()
    }

    static func start(database: String, token: String = "test-token", gateway: DeviceGateway? = nil) async throws -> RunningCloud {
        var server = LocalCloudServer(store: try gateway?.store ?? LocalCloudStore(path: database), token: token,
                                      events: gateway?.events ?? EventHub())
        server.gateway = gateway
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run(port: 0) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CloudError(operation: "start", status: nil, message: "no port") }
        return RunningCloud(server: server, task: task, port: port)
    }

    func client(token: String = "test-token") -> CloudClient {
        CloudClient(credentials: CloudCredentials(baseURL: baseURL, token: token), http: http)
    }

    func stop() async {
        try? await http.shutdown()
        task.cancel()
        _ = await task.result
    }
}

@Suite("Local cloud and cloud client over loopback HTTP", .serialized, .timeLimit(.minutes(10)))
struct LocalCloudTests {
    static let product = "otabench-fleet"
    static let devices = (1...5).map { String(format: "e00fce68%016x", $0) }

    static func app(_ seed: UInt64) throws -> [UInt8] {
        try SampleModules.userApp(for: SampleModules.platform("boron"), systemVersion: 5800, seed: seed)
    }

    @Test("The client drives the local cloud: devices, groups, upload, releases to groups and the product, device state, a direct flash and its event")
    func clientAgainstLocalCloud() async throws {
        let folder = try temporaryFolder("cloud")
        let cloud = try await RunningCloud.start(database: folder.appendingPathComponent("cloud.sqlite").path)
        defer { Task { await cloud.stop() } }
        let client = cloud.client()

        try await client.addDevices(product: Self.product, Self.devices)
        try await client.setGroups(product: Self.product, deviceID: Self.devices[0], ["beta"])
        try await client.setGroups(product: Self.product, deviceID: Self.devices[1], ["beta", "lab"])
        #expect(try await client.groups(product: Self.product) == [DeviceGroup(name: "beta", deviceCount: 2), DeviceGroup(name: "lab", deviceCount: 1)])

        let v1 = try await client.uploadProductFirmware(product: Self.product, version: 1, title: "first", binary: try Self.app(1))
        let size = try Self.app(1).count
        #expect(v1.version == 1 && v1.title == "first" && v1.size == size && v1.productDefault == false && v1.groups == [])
        _ = try await client.uploadProductFirmware(product: Self.product, version: 2, title: "second", binary: try Self.app(2))
        _ = try await client.release(product: Self.product, FirmwareRelease(version: 1, productDefault: true))
        let beta = try await client.release(product: Self.product, FirmwareRelease(version: 2, groups: ["beta"], intelligent: true))
        #expect(beta == FirmwareRelease(version: 2, groups: ["beta"], intelligent: true))

        let inBeta = try await client.device(product: Self.product, Self.devices[1])
        #expect(inBeta.groups == ["beta", "lab"] && inBeta.targetedFirmwareReleaseVersion == 2)
        #expect(inBeta.firmwareUpdatesEnabled && !inBeta.firmwareUpdatesForced)
        #expect(try await client.device(product: Self.product, Self.devices[4]).targetedFirmwareReleaseVersion == 1, "outside the group: the product default")

        let events = try await client.events(product: Self.product, prefix: "spark/flash")
        var iterator = events.makeAsyncIterator()
        try await client.flashDevice(Self.devices[3], firmware: try Self.app(3))
        let event = try #require(try await iterator.next())
        #expect(event.name == "spark/flash/status" && event.data == "started " && event.coreid == Self.devices[3])
    }

    @Test("A restart of the local cloud mid-release loses nothing: firmware, releases, groups")
    func restartKeepsEverything() async throws {
        let folder = try temporaryFolder("cloud-restart")
        let database = folder.appendingPathComponent("cloud.sqlite").path
        let first = try await RunningCloud.start(database: database)
        let client = first.client()
        try await client.addDevices(product: Self.product, Self.devices)
        try await client.setGroups(product: Self.product, deviceID: Self.devices[2], ["canary"])
        _ = try await client.uploadProductFirmware(product: Self.product, version: 7, title: "seven", binary: try Self.app(7))
        _ = try await client.release(product: Self.product, FirmwareRelease(version: 7, groups: ["canary"]))
        await first.stop()
        let down = CloudClient(credentials: CloudCredentials(baseURL: first.baseURL, token: "test-token"))
        let refused = await #expect(throws: CloudError.self) { _ = try await down.groups(product: Self.product) }
        #expect(refused?.message.contains("cannot reach") == true, "\(String(describing: refused))")

        let second = try await RunningCloud.start(database: database)
        defer { Task { await second.stop() } }
        let again = second.client()
        #expect(try await again.device(product: Self.product, Self.devices[2]).targetedFirmwareReleaseVersion == 7)
        #expect(try await again.groups(product: Self.product) == [DeviceGroup(name: "canary", deviceCount: 1)])
        let duplicate = await #expect(throws: CloudError.self) {
            _ = try await again.uploadProductFirmware(product: Self.product, version: 7, title: "again", binary: try Self.app(8))
        }
        #expect(duplicate?.status == 409 && duplicate?.message.contains("already has firmware version 7") == true)
    }

    @Test("Refusals are 4xx with the reason, and the client says them plainly; the token never appears")
    func refusals() async throws {
        let folder = try temporaryFolder("cloud-refusals")
        let cloud = try await RunningCloud.start(database: folder.appendingPathComponent("cloud.sqlite").path)
        defer { Task { await cloud.stop() } }
        let client = cloud.client()
        try await client.addDevices(product: Self.product, [Self.devices[0]])

        let badToken = await #expect(throws: CloudError.self) { _ = try await cloud.client(token: "wrong").groups(product: Self.product) }
        #expect(badToken?.status == 401)
        #expect(!"\(cloud.client(token: "secret-token-value").credentials)".contains("secret-token-value"))
        let unknown = await #expect(throws: CloudError.self) { _ = try await client.groups(product: "nobody") }
        #expect(unknown?.status == 404 && unknown?.message == "no product nobody")
        let unreleased = await #expect(throws: CloudError.self) { _ = try await client.release(product: Self.product, FirmwareRelease(version: 9, productDefault: true)) }
        #expect(unreleased?.status == 404 && unreleased?.message.contains("upload it first") == true)
        let garbage = await #expect(throws: CloudError.self) {
            _ = try await client.uploadProductFirmware(product: Self.product, version: 3, title: "garbage", binary: Array("not firmware".utf8))
        }
        #expect(garbage?.status == 400 && garbage?.message.contains("not a Particle module") == true, "\(String(describing: garbage))")
        let noDevice = await #expect(throws: CloudError.self) { try await client.flashDevice("ffffffffffffffffffffffff", firmware: try Self.app(1)) }
        #expect(noDevice?.status == 404)
    }

    @Test("Malformed requests from an independent client (curl) get 4xx answers, never a crash; the server keeps serving",
          arguments: [
            (["-X", "PUT", "-H", "Content-Type: application/json", "--data", "{not json"], "/firmware/release", 400),
            (["-X", "PUT", "-H", "Content-Type: application/json", "--data", "{\"groups\":[]}"], "/firmware/release", 400),
            (["-X", "PUT", "-H", "Content-Type: application/json", "--data", "{\"version\":\"one\"}"], "/firmware/release", 400),
            (["-X", "POST", "-H", "Content-Type: application/json", "--data", "{\"version\":1}"], "/firmware", 415),
            (["-X", "POST", "-H", "Content-Type: multipart/form-data; boundary=x", "--data", "--x\r\ngarbage"], "/firmware", 400),
            (["-X", "POST", "-F", "version=0", "-F", "title=t", "-F", "binary=@/etc/hostname"], "/firmware", 400),
            (["-X", "POST", "-H", "Content-Type: application/json", "--data", "{\"ids\":[\"xyz\"]}"], "/devices", 400),
            (["-X", "PUT", "-H", "Content-Type: application/json", "--data", "{\"groups\":[\"\"]}"], "/devices/e00fce680000000000000001", 400),
          ] as [([String], String, Int)])
    func malformed(_ arguments: [String], _ path: String, _ status: Int) async throws {
        let folder = try temporaryFolder("cloud-malformed")
        let cloud = try await RunningCloud.start(database: folder.appendingPathComponent("cloud.sqlite").path)
        defer { Task { await cloud.stop() } }
        try await cloud.client().addDevices(product: Self.product, ["e00fce680000000000000001"])
        let url = cloud.baseURL + "/v1/products/\(Self.product)" + path
        let result = try await ToolProcess.run("/usr/bin/curl", ["-s", "-o", "/dev/stderr", "-w", "%{http_code}", "-H", "Authorization: Bearer test-token"]
                                         + arguments + [url])
        #expect(result.output.hasSuffix("\(status)"), "\(result.output)")
        #expect(result.output.contains("\"ok\":false"), "a JSON refusal with the reason: \(result.output)")
        #expect(try await cloud.client().groups(product: Self.product).isEmpty, "still serving")
    }

    @Test("A body over the limit is refused with 413")
    func tooLarge() async throws {
        let folder = try temporaryFolder("cloud-large")
        let cloud = try await RunningCloud.start(database: folder.appendingPathComponent("cloud.sqlite").path)
        defer { Task { await cloud.stop() } }
        try await cloud.client().addDevices(product: Self.product, [Self.devices[0]])
        let refused = await #expect(throws: CloudError.self) {
            try await cloud.client().flashDevice(Self.devices[0], firmware: [UInt8](repeating: 0xAB, count: 9 << 20))
        }
        #expect(refused?.status == 413, "\(String(describing: refused))")
    }
}

@Suite("Server-sent events", .timeLimit(.minutes(10)))
struct ServerSentEventTests {
    @Test("Messages split across reads, comments, CRLF and multi-line data come out whole")
    func parser() {
        var parser = ServerSentEventParser()
        let text = ":ok\n\nevent: spark/status\r\ndata: {\"a\":\ndata: 1}\r\n\r\nevent: x\ndata: y\n\n"
        var messages: [ServerSentEventParser.Message] = []
        for byte in Array(text.utf8) { messages += parser.feed([byte]) }
        #expect(messages == [.init(event: "spark/status", data: "{\"a\":\n1}"), .init(event: "x", data: "y")])
        #expect(ServerSentEventParser.format(event: "e", data: "a\nb") == "event: e\ndata: a\ndata: b\n\n")
    }

    @Test("An event as Particle's cloud streams it: the name from the event line, no name in the data, ttl as text, null data, no coreid")
    func particleShapedEvents() throws {
        var parser = ServerSentEventParser()
        let text = """
            :ok

            event: spark/status
            data: {"data":"online","ttl":"60","published_at":"2024-01-01T00:00:00.000Z","coreid":"e00fce68aaaaaaaaaaaaaaaa"}

            event: bench/hello
            data: {"data":null,"ttl":30,"published_at":"2024-01-01T00:00:01.000Z"}

            event: other
            data: {"name":"ignored","data":"x"}

            data: {"data":"a message without an event line is not an event"}


            """
        let events = parser.feed(Array(text.utf8)).compactMap(ServerSentEventParser.cloudEvent(in:))
        #expect(events == [
            CloudEvent(name: "spark/status", data: "online", coreid: "e00fce68aaaaaaaaaaaaaaaa", publishedAt: "2024-01-01T00:00:00.000Z", ttl: 60),
            CloudEvent(name: "bench/hello", data: "", coreid: "", publishedAt: "2024-01-01T00:00:01.000Z", ttl: 30),
            CloudEvent(name: "other", data: "x", coreid: "", publishedAt: "", ttl: 60),
        ])
        // What the local cloud writes reads back the same.
        let written = ServerSentEventParser.format(events[0])
        #expect(!written.contains("\"name\""))
        var again = ServerSentEventParser()
        #expect(again.feed(Array(written.utf8)).compactMap(ServerSentEventParser.cloudEvent(in:)) == [events[0]])
    }
}
