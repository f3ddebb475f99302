import AsyncHTTPClient
import Cloud
import Foundation
import LocalCloud
import NIOCore
import TestSupport
import Testing

/// The local cloud answers Particle's REST API as Particle documents it and its clients call
/// it: tokens in all three places, JSON, urlencoded and multipart bodies, JSON refusals with
/// `error_description` everywhere, the account, device and firmware routes, and the streams.
/// Driven by curl (an independent client, sending the docs' forms) and by our CloudClient.
@Suite("Local cloud: Particle's REST API", .serialized, .timeLimit(.minutes(10)))
struct ParticleRoutesTests {
    static let product = "bench"
    static let device = "e00fce68000d000000000001"
    static let other = "e00fce68000d000000000002"

    /// curl's answer: the body and the status.
    struct Answer {
        var status: Int
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var list: [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [[String: Any]] ?? [] }
    }

    static func curl(_ cloud: RunningCloud, _ path: String, _ arguments: [String] = [], token: String? = "test-token") async throws -> Answer {
        let auth = token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []
        let result = try await ToolProcess.run("/usr/bin/curl", ["-s", "-w", "\n%{http_code}"] + auth + arguments + [cloud.baseURL + path])
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return Answer(status: Int(lines.last ?? "") ?? 0, body: lines.dropLast().joined(separator: "\n"))
    }

    static func start(_ name: String) async throws -> RunningCloud {
        let cloud = try await RunningCloud.start(database: try temporaryFolder(name).appendingPathComponent("cloud.sqlite").path)
        try await cloud.client().addDevices(product: product, [device, other])
        return cloud
    }

    @Test("The token from the Bearer header, the access_token query parameter or a form body's field; POST /oauth/token grants it for the password")
    func tokens() async throws {
        let cloud = try await Self.start("routes-tokens")
        defer { Task { await cloud.stop() } }
        #expect(try await Self.curl(cloud, "/v1/devices?access_token=test-token", token: nil).status == 200)
        #expect(try await Self.curl(cloud, "/v1/devices/\(Self.device)", ["-X", "PUT", "-d", "notes=lab&access_token=test-token"], token: nil).status == 200)
        let wrong = try await Self.curl(cloud, "/v1/devices?access_token=wrong", token: nil)
        #expect(wrong.status == 401 && wrong.json["error"] as? String == "invalid_token" && wrong.json["error_description"] is String, "\(wrong.body)")
        #expect(try await Self.curl(cloud, "/v1/devices", token: nil).status == 401)
        #expect(try await Self.curl(cloud, "/v1/devices?access_token=test-token", token: "wrong").status == 401, "a wrong header is not saved by a right parameter")

        // particle-api-js's login form, and spyrk's with HTTP Basic client credentials.
        let login = try await Self.curl(cloud, "/oauth/token", ["-d", "username=u%40x&password=test-token&grant_type=password&client_id=particle-api"], token: nil)
        #expect(login.status == 200 && login.json["access_token"] as? String == "test-token" && login.json["token_type"] as? String == "bearer", "\(login.body)")
        #expect(try await Self.curl(cloud, "/v1/devices/oauth/token", ["-u", "spark:spark", "-d", "username=me&password=test-token"], token: nil).status == 200)
        let refused = try await Self.curl(cloud, "/oauth/token", ["-d", "username=me&password=guess"], token: "stale")
        #expect(refused.status == 400 && refused.json["error"] as? String == "invalid_grant", "\(refused.body)")

        let user = try await Self.curl(cloud, "/v1/user")
        #expect(user.status == 200 && user.json["username"] as? String == "otabench@localhost", "\(user.body)")
    }

    @Test("Unknown routes, wrong methods and unknown things answer JSON with error and error_description")
    func jsonRefusals() async throws {
        let cloud = try await Self.start("routes-refusals")
        defer { Task { await cloud.stop() } }
        for (arguments, path, status, code) in [
            ([String](), "/v1/no/such/route", 404, "not_found"),
            (["-X", "DELETE"], "/v1/user", 404, "not_found"),
            ([], "/v1/devices/ffffffffffffffffffffffff", 404, "not_found"),
            ([], "/v1/products/\(Self.product)/firmware/release", 404, "not_found"),
            ([], "/v1/products/\(Self.product)/firmware/x", 400, "invalid_request"),
            (["-X", "POST", "-d", "id=ffffffffffffffffffffffff"], "/v1/devices", 404, "not_found"),
            (["-X", "PUT", "-H", "Content-Type: text/plain", "-d", "x"], "/v1/devices/\(Self.device)", 415, "unsupported_media_type"),
        ] as [([String], String, Int, String)] {
            let answer = try await Self.curl(cloud, path, arguments)
            #expect(answer.status == status && answer.json["ok"] as? Bool == false && answer.json["error"] as? String == code
                    && !(answer.json["error_description"] as? String ?? "").isEmpty, "\(path): \(answer.status) \(answer.body)")
        }
    }

    @Test("Devices: one record everywhere, ids in any case, claim, settings by form or JSON, product ids by number, paged lists filtered by group, removal")
    func devices() async throws {
        let cloud = try await Self.start("routes-devices")
        defer { Task { await cloud.stop() } }
        let client = cloud.client()
        try await client.setGroups(product: Self.product, deviceID: Self.other, ["lab"])

        let one = try await Self.curl(cloud, "/v1/devices/\(Self.device.uppercased())")
        #expect(one.status == 200 && one.json["id"] as? String == Self.device, "\(one.body)")
        for key in ["name", "connected", "online", "functions", "variables", "product_id", "desired_firmware_version", "last_heard", "platform_id"] {
            #expect(one.json.keys.contains(key), "\(key) in \(one.body)")
        }
        #expect(one.json["name"] as? String == "otabench_\(Self.device)" && one.json["connected"] as? Bool == false)
        #expect(one.json["desired_firmware_version"] is NSNull)
        let all = try await Self.curl(cloud, "/v1/devices")
        #expect(all.list.map { $0["id"] as? String } == [Self.device, Self.other])
        #expect(all.list.allSatisfy { $0.keys.allSatisfy { !$0.hasPrefix("_") && !$0.contains("-") } }, "spyrk makes namedtuple fields of the keys")

        let claim = try await Self.curl(cloud, "/v1/devices", ["-d", "id=\(Self.device.uppercased())"])
        #expect(claim.status == 200 && claim.json["ok"] as? Bool == true, "\(claim.body)")
        let renamed = try await Self.curl(cloud, "/v1/devices/\(Self.device)", ["-X", "PUT", "-H", "Content-Type: application/json", "-d", #"{"name":"bench_one"}"#])
        #expect(renamed.json["name"] as? String == "bench_one" && renamed.json["updated_at"] is String, "\(renamed.body)")
        let clash = try await Self.curl(cloud, "/v1/devices/\(Self.other)", ["-X", "PUT", "-d", "name=bench_one"])
        #expect(clash.status == 409, "names are unique: \(clash.body)")

        // By the product's numeric id; the docs' forms.
        let products = try await Self.curl(cloud, "/v1/products")
        let productID = try #require(((products.json["products"] as? [[String: Any]])?.first?["id"] as? Int), "\(products.body)")
        let forced = try await Self.curl(cloud, "/v1/products/\(productID)/devices/\(Self.device)", ["-X", "PUT", "-d", "firmware_updates_forced=true&development=True"])
        #expect(forced.status == 200 && forced.json["firmware_updates_forced"] as? Bool == true && forced.json["development"] as? Bool == true, "\(forced.body)")
        #expect(forced.json["product_id"] as? Int == productID)

        let lab = try await Self.curl(cloud, "/v1/products/\(Self.product)/devices?groups=lab%2Cnone")
        #expect((lab.json["devices"] as? [[String: Any]])?.map { $0["id"] as? String } == [Self.other], "\(lab.body)")
        let second = try await Self.curl(cloud, "/v1/products/\(Self.product)/devices?page=2&per_page=1")
        #expect((second.json["devices"] as? [[String: Any]])?.map { $0["id"] as? String } == [Self.other], "\(second.body)")
        #expect((second.json["meta"] as? [String: Any])?["total_pages"] as? Int == 2)
        #expect(try await client.devices(product: Self.product).map(\.id) == [Self.device, Self.other], "the client reads every page")

        // particle-api-js adds a device as {"id": …}; the answer is the documented one.
        let third = "e00fce68000d000000000003"
        let added = try await Self.curl(cloud, "/v1/products/\(Self.product)/devices", ["-H", "Content-Type: application/json", "-d", #"{"id":"\#(third.uppercased())"}"#])
        #expect(added.json["updatedDeviceIds"] as? [String] == [third], "\(added.body)")
        let removed = try await Self.curl(cloud, "/v1/products/\(Self.product)/devices/\(third)", ["-X", "DELETE"])
        #expect(removed.status == 204 && removed.body.isEmpty)
        #expect(try await Self.curl(cloud, "/v1/devices/\(third)").status == 404)
    }

    @Test("Firmware: upload with the part file, list, read, edit by form, download; a release of a version alone is the default; released versions stay")
    func firmware() async throws {
        let cloud = try await Self.start("routes-firmware")
        defer { Task { await cloud.stop() } }
        let client = cloud.client()
        let app = try LocalCloudTests.app(2)
        let uploaded = try await client.uploadProductFirmware(product: Self.product, version: 2, title: "v2", description: "two", binary: app)
        #expect(uploaded.version == 2 && uploaded.size == app.count && uploaded.description == "two" && uploaded.productDefault == false)
        #expect(uploaded.uploadedOn != nil && uploaded.productID != nil)
        _ = try await client.uploadProductFirmware(product: Self.product, version: 3, title: "v3", binary: try LocalCloudTests.app(3))
        #expect(try await client.productFirmware(product: Self.product).map(\.version) == [2, 3])
        #expect(try await client.downloadFirmware(product: Self.product, version: 2) == app)

        let edited = try await Self.curl(cloud, "/v1/products/\(Self.product)/firmware/2", ["-X", "PUT", "-d", "title=two+b&description=edited"])
        #expect(edited.json["title"] as? String == "two b" && edited.json["description"] as? String == "edited", "\(edited.body)")
        let read = try await Self.curl(cloud, "/v1/products/\(Self.product)/firmware/2")
        #expect(read.json["name"] as? String == "firmware.bin" && read.json["current"] as? Bool == false, "\(read.body)")

        let release = try await Self.curl(cloud, "/v1/products/\(Self.product)/firmware/release", ["-X", "PUT", "-H", "Content-Type: application/json", "-d", #"{"version":2}"#])
        #expect(release.status == 200 && release.json["product_default"] as? Bool == true && release.json["title"] as? String == "two b", "\(release.body)")
        #expect(try await client.device(product: Self.product, Self.device).targetedFirmwareReleaseVersion == 2)
        let kept = try await Self.curl(cloud, "/v1/products/\(Self.product)/firmware/2", ["-X", "DELETE"])
        #expect(kept.status == 409, "\(kept.body)")
        #expect(try await Self.curl(cloud, "/v1/products/\(Self.product)/firmware/3", ["-X", "DELETE"]).status == 204)
        #expect(try await Self.curl(cloud, "/v1/products/\(Self.product)/firmware/3").status == 404)

        // Locks: to an existing version only; null (JSON, or the docs' form) unlocks.
        try await client.lockFirmware(product: Self.product, deviceID: Self.device, version: 2)
        #expect(try await client.device(product: Self.product, Self.device).desiredFirmwareVersion == 2)
        let missing = await #expect(throws: CloudError.self) { try await client.lockFirmware(product: Self.product, deviceID: Self.device, version: 9) }
        #expect(missing?.status == 404)
        let unlocked = try await Self.curl(cloud, "/v1/products/\(Self.product)/devices/\(Self.device)", ["-X", "PUT", "-d", "desired_firmware_version=null"])
        #expect(unlocked.json["desired_firmware_version"] is NSNull, "\(unlocked.body)")
        try await client.lockFirmware(product: Self.product, deviceID: Self.device, version: 2)
        try await client.unlockFirmware(product: Self.product, deviceID: Self.device)
        #expect(try await client.device(product: Self.product, Self.device).desiredFirmwareVersion == nil)
    }

    @Test("Streams: text/event-stream with a charset, data without the name and with ttl, names sent as %2F; published events reach /v1/events")
    func streams() async throws {
        let cloud = try await Self.start("routes-streams")
        defer { Task { await cloud.stop() } }
        let client = cloud.client()
        // The raw stream, as particle-api-js asks for it.
        var request = HTTPClientRequest(url: cloud.baseURL + "/v1/products/\(Self.product)/events/spark%2Fflash%2Fstatus?nonce=1.5")
        request.headers.add(name: "Authorization", value: "Bearer test-token")
        let response = try await cloud.http.execute(request, timeout: .minutes(5))
        #expect(response.status == .ok && response.headers["Content-Type"] == ["text/event-stream; charset=utf-8"])
        let raw = Task {
            var text = ""
            for try await buffer in response.body {
                text += String(buffer: buffer)
                if let start = text.range(of: "event: "), text[start.upperBound...].contains("\n\n") { break }
            }
            return text
        }
        // The stream is open once its first comment arrived; then the flash.
        var opened = try await client.events(product: Self.product, prefix: "spark/flash").makeAsyncIterator()
        try await client.flashDevice(Self.device.uppercased(), firmware: try LocalCloudTests.app(1))
        let text = try await raw.value
        let data = try #require(text.split(separator: "\n").first { $0.hasPrefix("data: ") }?.dropFirst(6))
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
        #expect(text.contains("event: spark/flash/status\n"), "\(text)")
        #expect(payload["name"] == nil && payload["ttl"] as? Int == 60 && payload["coreid"] as? String == Self.device, "\(payload)")
        #expect(try #require(try await opened.next()).name == "spark/flash/status", "our client takes the name from the event line")

        // Published by the API, on the account's streams (pyparticleio sends the name with raw slashes).
        var all = try await client.events(prefix: "bench/").makeAsyncIterator()
        var mine = try await client.events(deviceID: Self.device).makeAsyncIterator()
        let form = try await Self.curl(cloud, "/v1/devices/events", ["-d", "name=bench%2Fhello&data=hi&private=True&ttl=30"])
        #expect(form.status == 200 && form.json["ok"] as? Bool == true, "\(form.body)")
        let event = try #require(try await all.next())
        #expect(event.name == "bench/hello" && event.data == "hi" && event.ttl == 30 && event.coreid == "api")
        try await client.publish(name: "bench/json", data: "{\"a\":1}")
        let json = try #require(try await all.next())
        #expect(json.name == "bench/json" && json.data == "{\"a\":1}" && json.ttl == 60, "\(json)")
        // A device's stream sees only that device: its next event is the flash it is sent, not the API's.
        try await client.flashDevice(Self.device, firmware: try LocalCloudTests.app(1))
        #expect(try #require(try await mine.next()).coreid == Self.device)
        #expect(try await Self.curl(cloud, "/v1/products/\(Self.product)/events", ["-X", "POST", "-d", "data=no+name"]).status == 400)
    }
}
