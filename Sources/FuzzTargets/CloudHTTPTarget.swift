import Cloud
import Foundation
import LocalCloud
import NIOCore

/// `cloud-http`: the bytes are a request body for the local cloud's REST API, parsed by the
/// functions its routes call (`RequestBodies`, `RequestParameters`). Byte 0 picks the route,
/// counting from "0":
///
/// - "0" `PUT /v1/devices/:device`, "1" `POST /v1/products/:product/firmware`: multipart
///   forms. The first line is the Content-Type header's value, the rest the body. A form that
///   parses is written again as the cloud client writes forms and must parse to the same form.
/// - "2" `PUT …/firmware/release`, "3" `POST …/devices`, "4" `PUT …/devices/:device`: JSON.
///   What a route accepts must hold what the route promises (a release names a version and
///   where it goes, device ids are 24 lowercase hexadecimal digits, a settings change is not
///   empty), and a release must encode and decode to itself.
/// - "5": any body, the first line its Content-Type (JSON, urlencoded, multipart, none), read
///   as the routes read parameters; every route's parser and every lenient accessor runs on
///   it. A urlencoded body that parses is written again, every byte percent-encoded but
///   letters and digits, and must parse to the same parameters.
enum CloudHTTPTarget {
    enum Route: CaseIterable {
        case flash, upload, release, addDevices, deviceSettings, parameters
    }

    /// The boundary forms are written again with; forms holding it are not.
    static let boundary = "otabench-fuzz-7b2f1c"

    static func run(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let route = Route.allCases[Int(first &- UInt8(ascii: "0")) % Route.allCases.count]
        let rest = Array(bytes.dropFirst())
        switch route {
        case .flash, .upload:
            let (header, body) = splitHeader(rest)
            let form: RequestBodies.Form
            do throws(LocalCloudError) {
                let boundary = try RequestBodies.boundary(contentType: header)
                form = try RequestBodies.form(boundary: boundary, body: ByteBuffer(bytes: body))
            } catch {
                return
            }
            checkRewritten(form)
            if route == .flash {
                _ = try? RequestBodies.flashBinary(RequestParameters(form: form))
            } else if let upload = try? RequestBodies.upload(RequestParameters(form: form)) {
                precondition(upload.version > 0 && !upload.title.isEmpty && !upload.binary.isEmpty && !upload.fileName.isEmpty,
                             "the upload route took \(upload)")
            }
        case .release, .addDevices, .deviceSettings:
            guard let parameters = try? RequestBodies.parameters(contentType: "application/json", body: ByteBuffer(bytes: rest)) else { return }
            checkRoutes(parameters)
        case .parameters:
            let (header, body) = splitHeader(rest)
            guard let parameters = try? RequestBodies.parameters(contentType: header.isEmpty ? nil : header, body: ByteBuffer(bytes: body)) else {
                return
            }
            checkRoutes(parameters)
            if header.lowercased().hasPrefix("application/x-www-form-urlencoded") { checkReencoded(parameters) }
        }
    }

    /// The first line (a Content-Type value) and the rest.
    static func splitHeader(_ bytes: [UInt8]) -> (String, [UInt8]) {
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        var header = Array(bytes[..<newline])
        if header.last == UInt8(ascii: "\r") { header.removeLast() }
        return (String(decoding: header, as: UTF8.self), newline < bytes.endIndex ? Array(bytes[(newline + 1)...]) : [])
    }

    /// Every route's parser on the same parameters: what one takes must hold what it promises.
    static func checkRoutes(_ parameters: RequestParameters) {
        for key in parameters.values.keys {
            _ = try? parameters.string(key)
            _ = try? parameters.int(key)
            _ = try? parameters.nullableInt(key)
            _ = try? parameters.bool(key)
            _ = try? parameters.strings(key)
        }
        if let release = try? RequestBodies.release(parameters) {
            precondition(release.productDefault || !release.groups.isEmpty, "the release route took a release to nowhere: \(release)")
            checkJSON(release)
        }
        if let ids = try? RequestBodies.deviceIDs(parameters) {
            precondition(!ids.isEmpty && ids.allSatisfy(isDeviceID), "the devices route took the ids \(ids)")
        }
        if let settings = try? RequestBodies.deviceSettings(parameters) {
            precondition(!settings.isEmpty, "the device route took an empty change")
            precondition(settings.groups?.allSatisfy { !$0.isEmpty && $0.count <= 64 } ?? true, "the device route took the groups \(settings)")
            if case .some(.some(let version)) = settings.desiredFirmwareVersion { precondition(version > 0, "a lock to version \(version)") }
        }
        if let event = try? RequestBodies.publish(parameters) {
            precondition((1...64).contains(event.name.count) && !event.name.contains(where: \.isNewline) && event.ttl >= 0,
                         "the publish route took \(event)")
        }
        if let id = try? RequestBodies.claim(parameters) { precondition(isDeviceID(id), "the claim route took the id \(id)") }
        _ = try? RequestBodies.login(parameters)
        _ = try? RequestBodies.firmwareEdit(parameters)
        if let page = try? RequestBodies.devicePage(parameters) { precondition(page.page >= 1 && page.perPage >= 1, "the device list took \(page)") }
    }

    /// A urlencoded form written again, every byte but letters and digits escaped, lists as
    /// `name[]=…`, parses to the same parameters.
    static func checkReencoded(_ parameters: RequestParameters) {
        func escaped(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")) ?? text
        }
        var pairs: [String] = []
        for (key, value) in parameters.values.sorted(by: { $0.key < $1.key }) {
            switch value {
            case .text(let text): pairs.append(escaped(key) + "=" + escaped(text))
            case .list(let items):
                for case .text(let text) in items { pairs.append(escaped(key) + "%5B%5D=" + escaped(text)) }
            default: preconditionFailure("a urlencoded form holds \(value)")
            }
        }
        let again: RequestParameters
        do throws(LocalCloudError) { again = try RequestParameters.urlEncoded(pairs.joined(separator: "&")[...]) } catch {
            preconditionFailure("a urlencoded form written again does not parse: \(error)")
        }
        precondition(again == parameters, "a urlencoded form written again parses to \(again), not \(parameters)")
    }

    /// The form as `CloudClient` writes one (Cloud's `MultipartForm`), parsed again. Only forms
    /// whose names are plain ASCII without quotes or semicolons can be written that way, and only
    /// content without the boundary.
    static func checkRewritten(_ form: RequestBodies.Form) {
        guard !(form.fields.isEmpty && form.files.isEmpty) else { return }
        guard form.fields.keys.allSatisfy(isPlainName), form.files.keys.allSatisfy(isPlainName), form.fileNames.values.allSatisfy(isPlainName) else {
            return
        }
        let marker = Array("--\(boundary)".utf8)
        guard !form.fields.values.contains(where: { holds(Array($0.utf8), marker) }),
              !form.files.values.contains(where: { holds($0, marker) })
        else { return }
        var body: [UInt8] = []
        for (name, value) in form.fields.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for (name, bytes) in form.files.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(form.fileNames[name] ?? "")\"\r\n".utf8)
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
