import Cloud
import Foundation
import LocalCloud
import NIOCore

/// `cloud-http`: the bytes are a request body for the local cloud's REST API, parsed by the
/// functions its routes call (`RequestBodies`). Byte 0 picks the route, counting from "0":
///
/// - "0" `PUT /v1/devices/:device`, "1" `POST /v1/products/:product/firmware`: multipart
///   forms. The first line is the Content-Type header's value, the rest the body. A form that
///   parses is written again as the cloud client writes forms and must parse to the same form.
/// - "2" `PUT …/firmware/release`, "3" `POST …/devices`, "4" `PUT …/devices/:device`: JSON.
///   What a route accepts must encode and decode to itself, device ids must be 24 lowercase
///   hexadecimal digits.
enum CloudHTTPTarget {
    enum Route: CaseIterable {
        case flash, upload, release, addDevices, deviceSettings
    }

    /// The boundary forms are written again with; forms holding it are not.
    static let boundary = "otabench-fuzz-7b2f1c"

    static func run(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let route = Route.allCases[Int(first &- UInt8(ascii: "0")) % Route.allCases.count]
        let rest = Array(bytes.dropFirst())
        switch route {
        case .flash, .upload:
            let newline = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
            var header = Array(rest[..<newline])
            if header.last == UInt8(ascii: "\r") { header.removeLast() }
            let body = newline < rest.endIndex ? Array(rest[(newline + 1)...]) : []
            let form: RequestBodies.Form
            do throws(LocalCloudError) {
                let boundary = try RequestBodies.boundary(contentType: String(decoding: header, as: UTF8.self))
                form = try RequestBodies.form(boundary: boundary, body: ByteBuffer(bytes: body))
            } catch {
                return
            }
            checkRewritten(form)
            if route == .flash {
                _ = try? RequestBodies.flashBinary(form)
            } else if let upload = try? RequestBodies.upload(form) {
                precondition(upload.version > 0 && !upload.title.isEmpty && !upload.binary.isEmpty, "the upload route took \(upload)")
            }
        case .release:
            if let release = try? RequestBodies.release(ByteBuffer(bytes: rest)) { checkJSON(release) }
        case .addDevices:
            if let ids = try? RequestBodies.deviceIDs(ByteBuffer(bytes: rest)) {
                precondition(!ids.isEmpty && ids.allSatisfy(isDeviceID), "the devices route took the ids \(ids)")
            }
        case .deviceSettings:
            if let settings = try? RequestBodies.deviceSettings(ByteBuffer(bytes: rest)) {
                precondition(settings.groups != nil || settings.firmwareUpdatesForced != nil, "the device route took an empty change")
                checkJSON(settings)
            }
        }
    }

    /// The form as `CloudClient` writes one (Cloud's `MultipartForm`), parsed again. Only forms
    /// whose names are plain ASCII without quotes or semicolons can be written that way, and only
    /// content without the boundary.
    static func checkRewritten(_ form: RequestBodies.Form) {
        guard !(form.fields.isEmpty && form.files.isEmpty) else { return }
        guard form.fields.keys.allSatisfy(isPlainName), form.files.keys.allSatisfy(isPlainName) else { return }
        let marker = Array("--\(boundary)".utf8)
        guard !form.fields.values.contains(where: { holds(Array($0.utf8), marker) }),
              !form.files.values.contains(where: { holds($0, marker) })
        else { return }
        var body: [UInt8] = []
        for (name, value) in form.fields.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for (name, bytes) in form.files.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(name).bin\"\r\n".utf8)
            body += Array("Content-Type: application/octet-stream\r\n\r\n".utf8)
            body += bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        let again: RequestBodies.Form
        do throws(LocalCloudError) {
            again = try RequestBodies.form(boundary: boundary, body: ByteBuffer(bytes: body))
        } catch {
            preconditionFailure("a form written as the cloud client writes it does not parse: \(error)")
        }
        precondition(again == form, "a form written as the cloud client writes it parses to another form")
    }

    static func isPlainName(_ name: String) -> Bool {
        // Printable ASCII but for the quote, the semicolon and the backslash.
        name.utf8.allSatisfy { (byte: UInt8) -> Bool in byte >= 0x20 && byte <= 0x7E && byte != 0x22 && byte != 0x3B && byte != 0x5C }
    }

    static func holds(_ bytes: [UInt8], _ marker: [UInt8]) -> Bool {
        guard bytes.count >= marker.count else { return false }
        return (0...(bytes.count - marker.count)).contains { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }
    }

    static func isDeviceID(_ id: String) -> Bool {
        id.utf8.count == 24 && id.utf8.allSatisfy { (byte: UInt8) -> Bool in (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) }
    }

    static func checkJSON<T: Codable & Equatable>(_ value: T) {
        let data: Data
        do { data = try JSONEncoder().encode(value) } catch { preconditionFailure("a \(T.self) the cloud took does not encode: \(error)") }
        let again = try? JSONDecoder().decode(T.self, from: data)
        precondition(again == value, "a \(T.self) the cloud took does not survive its own JSON: \(String(decoding: data, as: UTF8.self))")
    }
}
