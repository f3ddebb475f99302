import Cloud
import Foundation
import LocalCloud
import NIOCore
import Testing

/// What the local cloud's routes take from request bodies, on input a client should never send.
@Suite("Local cloud request bodies", .timeLimit(.minutes(10)))
struct RequestBodiesTests {
    static func form(_ headerLines: [UInt8], body: String = "x") -> ByteBuffer {
        ByteBuffer(bytes: Array("--b\r\n".utf8) + headerLines + Array("\r\n\r\n\(body)\r\n--b--\r\n".utf8))
    }

    @Test("A part header with bytes that are not ASCII is parsed or refused as a bad request, never a crash", arguments: [
        Array("Content-Disposition: form-data; name=\"t\u{e9}\"".utf8),
        Array("Content-Disposition: form-data; name=\"t\"".utf8) + [0xFF, 0xFE],
        Array("X-\u{e9}: 1\r\nContent-Disposition: form-data; name=\"t\"".utf8),
        [0x80, 0x3A, 0x20, 0x81],
        // A bare LF belongs to the value: the next header name starts after the CR LF (found by the cloud-http fuzz target).
        Array("Content-Disposition: a\nb\r\n-\u{e9}: 1".utf8),
    ])
    func nonASCIIHeaders(_ header: [UInt8]) {
        do {
            let form = try RequestBodies.form(boundary: "b", body: Self.form(header))
            #expect(form.files.isEmpty)
        } catch {
            #expect("\(error)".contains("multipart"), "\(error)")
        }
    }

    static func json(_ text: String) throws -> RequestParameters {
        try RequestBodies.parameters(contentType: "application/json", body: ByteBuffer(string: text))
    }

    static func form(_ text: String, contentType: String? = "application/x-www-form-urlencoded") throws -> RequestParameters {
        try RequestBodies.parameters(contentType: contentType, body: ByteBuffer(string: text))
    }

    @Test("Device ids are 24 ASCII hexadecimal digits: fullwidth digits and other scripts are refused")
    func deviceIDs() throws {
        let ascii = "E00FCE68000D000000000001"
        #expect(try RequestBodies.deviceIDs(Self.json("{\"ids\":[\"\(ascii)\"]}")) == [ascii.lowercased()])
        for id in ["\u{FF10}00fce68000d000000000001", "e00fce68000d00000000000\u{0661}", "e00fce68000d00000000000g"] {
            #expect(throws: LocalCloudError.self) { try RequestBodies.deviceIDs(Self.json("{\"ids\":[\"\(id)\"]}")) }
        }
    }

    @Test("Devices to add come as {ids}, {id} (particle-api-js), form fields, or a file of ids (one a line)")
    func deviceIDsEveryWay() throws {
        let a = "e00fce68000d000000000001", b = "E00FCE68000D000000000002"
        #expect(try RequestBodies.deviceIDs(Self.json("{\"id\":\"\(b)\"}")) == [b.lowercased()])
        #expect(try RequestBodies.deviceIDs(Self.form("ids[]=\(a)&ids[]=\(b)")) == [a, b.lowercased()])
        #expect(try RequestBodies.deviceIDs(Self.form("id=\(a)")) == [a])
        let file = RequestParameters(files: ["file": Array("\(a)\n\(b)\n".utf8)], fileNames: ["file": "file"])
        #expect(try RequestBodies.deviceIDs(file) == [a, b.lowercased()])
        #expect(throws: LocalCloudError.self) { try RequestBodies.deviceIDs(Self.json("{}")) }
    }

    @Test("A urlencoded form: + is a space, %XX a UTF-8 byte, name[] and name[0] and a repeated name make lists; a bad escape is a 400")
    func urlEncoded() throws {
        let form = try RequestParameters.urlEncoded("name=bench%2Fhello+world&groups[]=a&groups%5B%5D=b&g[0]=x&g[1]=y&r=1&r=2&empty=&bare&t%C3%A9=%E2%9C%93&x[k]=v")
        #expect(form.values["name"] == .text("bench/hello world"))
        #expect(form.values["groups"] == .list([.text("a"), .text("b")]))
        #expect(form.values["g"] == .list([.text("x"), .text("y")]))
        #expect(form.values["r"] == .list([.text("1"), .text("2")]))
        #expect(form.values["empty"] == .text("") && form.values["bare"] == .text(""))
        #expect(form.values["t\u{e9}"] == .text("\u{2713}"))
        #expect(form.values["x[k]"] == .text("v"), "a bracket that is not a list index stays in the name")
        #expect(throws: LocalCloudError.badRequest("the form is malformed: \"%E2%9C\" is not percent-encoded UTF-8")) {
            try RequestParameters.urlEncoded("a=%E2%9C")
        }
        #expect(throws: LocalCloudError.self) { try RequestParameters.urlEncoded("a=%zz") }
    }

    @Test("Values convert leniently: numbers from text, bools as Python and JavaScript write them, null from JSON, \"null\" or empty")
    func lenientValues() throws {
        for text in ["true", "True", "TRUE", "1"] { #expect(try Self.form("f=\(text)").bool("f") == true, "\(text)") }
        for text in ["false", "False", "0"] { #expect(try Self.form("f=\(text)").bool("f") == false, "\(text)") }
        #expect(try Self.json(#"{"f":true,"g":0,"h":null}"#).bool("f") == true)
        #expect(try Self.json(#"{"g":0}"#).bool("g") == false)
        #expect(try Self.json(#"{"h":null}"#).bool("h") == nil)
        #expect(throws: LocalCloudError.badRequest("f must be true or false")) { try Self.form("f=maybe").bool("f") }
        #expect(throws: LocalCloudError.self) { try Self.json(#"{"f":2}"#).bool("f") }

        #expect(try Self.form("v=3").int("v") == 3 && Self.json(#"{"v":3}"#).int("v") == 3 && Self.json(#"{"v":"3"}"#).int("v") == 3)
        #expect(try Self.json(#"{"v":3.0}"#).int("v") == 3)
        #expect(throws: LocalCloudError.self) { try Self.json(#"{"v":3.5}"#).int("v") }
        #expect(throws: LocalCloudError.self) { try Self.form("v=three").int("v") }

        #expect(try Self.json(#"{"d":null}"#).nullableInt("d") == .some(nil))
        #expect(try Self.form("d=null").nullableInt("d") == .some(nil))
        #expect(try Self.form("d=").nullableInt("d") == .some(nil), "what qs sends for a JavaScript null")
        #expect(try Self.form("d=4").nullableInt("d") == .some(4))
        #expect(try Self.form("x=4").nullableInt("d") == nil, "absent is not null")

        #expect(try Self.json(#"{"g":["a",1,true]}"#).strings("g") == ["a", "1", "true"])
        #expect(try Self.form("g=a").strings("g") == ["a"] && Self.form("g=").strings("g") == [])
        #expect(throws: LocalCloudError.self) { try Self.json(#"{"g":[["a"]]}"#).strings("g") }
    }

    @Test("The content type picks the parser: JSON, a form (with a charset), multipart; no type is sniffed; others are a 415; an empty body has no parameters")
    func contentTypes() throws {
        #expect(try Self.form(#"{"a":1}"#, contentType: "application/json; charset=utf-8").values == ["a": .integer(1)])
        #expect(try Self.form("a=1", contentType: "application/x-www-form-urlencoded; charset=UTF-8").values == ["a": .text("1")])
        #expect(try Self.form(#" {"a":1}"#, contentType: nil).values == ["a": .integer(1)])
        #expect(try Self.form("a=1", contentType: nil).values == ["a": .text("1")])
        #expect(try Self.form("", contentType: "text/plain").isEmpty)
        #expect(throws: LocalCloudError.self) { try Self.form("a=1", contentType: "text/plain") }
        #expect(throws: LocalCloudError.badRequest("the body must be a JSON object")) { try Self.form("[1]", contentType: "application/json") }
        let multipart = ByteBuffer(string: "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"app.bin\"\r\n\r\nxyz\r\n--b\r\nContent-Disposition: form-data; name=\"latest\"\r\n\r\ntrue\r\n--b--\r\n")
        let parts = try RequestBodies.parameters(contentType: "multipart/form-data;boundary=b", body: multipart)
        #expect(parts.files == ["file": Array("xyz".utf8)] && parts.fileNames == ["file": "app.bin"] && parts.values == ["latest": .text("true")])
    }

    @Test("A release with only a version is the product default; with groups it goes to them; both may come as a form")
    func releases() throws {
        #expect(try RequestBodies.release(Self.json(#"{"version":3}"#)) == FirmwareRelease(version: 3, productDefault: true))
        #expect(try RequestBodies.release(Self.json(#"{"version":3,"groups":["lab"],"intelligent":true}"#))
                == FirmwareRelease(version: 3, groups: ["lab"], intelligent: true))
        #expect(try RequestBodies.release(Self.form("version=2&groups[]=a&groups[]=b&product_default=True"))
                == FirmwareRelease(version: 2, productDefault: true, groups: ["a", "b"]))
        #expect(try RequestBodies.release(Self.json(#"{"version":3,"product_default":false}"#)) == FirmwareRelease(version: 3),
                "said not to be the default and no group: the store refuses it")
        #expect(throws: LocalCloudError.self) { try RequestBodies.release(Self.json(#"{"groups":["a"]}"#)) }
    }

    @Test("Device settings: a lock, an unlock by JSON null or the form's null, development, name; an empty change is a 400")
    func settings() throws {
        let lock = try RequestBodies.deviceSettings(Self.json(#"{"desired_firmware_version":3,"flash":true}"#))
        #expect(lock == RequestBodies.DeviceSettings(desiredFirmwareVersion: .some(3), flash: true))
        #expect(try RequestBodies.deviceSettings(Self.json(#"{"desired_firmware_version":null}"#)).desiredFirmwareVersion == .some(nil))
        #expect(try RequestBodies.deviceSettings(Self.form("desired_firmware_version=null&access_token=t")).desiredFirmwareVersion == .some(nil))
        #expect(try RequestBodies.deviceSettings(Self.form("development=True")) == RequestBodies.DeviceSettings(development: true))
        #expect(try RequestBodies.deviceSettings(Self.form("name=bench_1&notes=")) == RequestBodies.DeviceSettings(name: "bench_1", notes: .some("")))
        #expect(try RequestBodies.deviceSettings(Self.form("groups[]=lab&firmware_updates_forced=1"))
                == RequestBodies.DeviceSettings(groups: ["lab"], firmwareUpdatesForced: true))
        #expect(throws: LocalCloudError.badRequest("send \(RequestBodies.settingNames)")) { try RequestBodies.deviceSettings(Self.form("access_token=t&flash=true")) }
        #expect(throws: LocalCloudError.self) { try RequestBodies.deviceSettings(Self.json(#"{"desired_firmware_version":0}"#)) }
        #expect(throws: LocalCloudError.self) { try RequestBodies.deviceSettings(Self.json(#"{"name":"no spaces"}"#)) }
    }

    @Test("Publishing: pyparticleio's form (private=True, ttl=60) and particle-api-js's JSON; names are 1 to 64 characters on one line")
    func publish() throws {
        #expect(try RequestBodies.publish(Self.form("name=bench%2Fx&private=True&ttl=60&data=hi"))
                == RequestBodies.Publish(name: "bench/x", data: "hi", ttl: 60, isPrivate: true))
        #expect(try RequestBodies.publish(Self.json(#"{"name":"x/y","data":"hello","private":false}"#))
                == RequestBodies.Publish(name: "x/y", data: "hello", ttl: 60, isPrivate: false))
        #expect(throws: LocalCloudError.self) { try RequestBodies.publish(Self.json(#"{"data":"no name"}"#)) }
        #expect(throws: LocalCloudError.self) { try RequestBodies.publish(Self.form("name=" + String(repeating: "n", count: 65))) }
        #expect(throws: LocalCloudError.self) { try RequestBodies.publish(Self.form("name=a%0Aevent:%20forged")) }
    }

    @Test("A product's device list query: groups comma-separated, pages from 1")
    func devicePage() throws {
        let page = try RequestBodies.devicePage(RequestParameters.urlEncoded("groups=a%2Cb&page=2&per_page=10"))
        #expect(page == RequestBodies.DevicePage(groups: ["a", "b"], page: 2, perPage: 10, deviceID: nil, deviceName: nil))
        #expect(try RequestBodies.devicePage(RequestParameters()).perPage == 25)
        #expect(throws: LocalCloudError.self) { try RequestBodies.devicePage(RequestParameters.urlEncoded("page=0")) }
    }
}
