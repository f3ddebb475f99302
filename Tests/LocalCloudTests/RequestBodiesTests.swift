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

    @Test("Device ids are 24 ASCII hexadecimal digits: fullwidth digits and other scripts are refused")
    func deviceIDs() throws {
        let ascii = "E00FCE68000D000000000001"
        #expect(try RequestBodies.deviceIDs(ByteBuffer(string: "{\"ids\":[\"\(ascii)\"]}")) == [ascii.lowercased()])
        for id in ["\u{FF10}00fce68000d000000000001", "e00fce68000d00000000000\u{0661}", "e00fce68000d00000000000g"] {
            #expect(throws: LocalCloudError.self) { try RequestBodies.deviceIDs(ByteBuffer(string: "{\"ids\":[\"\(id)\"]}")) }
        }
    }
}
