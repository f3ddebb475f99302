import Cloud
import Firmware
import Foundation
import MultipartKit
import NIOCore

/// What the local cloud's routes take from request bodies, apart from the server: the routes
/// call these on the bytes a client sent, and so does the `cloud-http` fuzz target. Every
/// refusal is a `LocalCloudError`, which the server answers as a 4xx.
package enum RequestBodies {
    /// A `multipart/form-data` body: its plain fields, and its files by field name.
    package struct Form: Hashable, Sendable {
        package var fields: [String: String]
        package var files: [String: [UInt8]]

        package init(fields: [String: String] = [:], files: [String: [UInt8]] = [:]) {
            self.fields = fields
            self.files = files
        }
    }

    /// The boundary a `multipart/form-data` content type names.
    package static func boundary(contentType: String?) throws(LocalCloudError) -> String {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundary = contentType.components(separatedBy: "boundary=").last?.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")),
              !boundary.isEmpty
        else { throw .unsupportedMediaType("send multipart/form-data with a boundary") }
        return boundary
    }

    /// The parts of a multipart body: a part whose disposition has a `filename` is a file, any
    /// other named part a field.
    package static func form(boundary: String, body: ByteBuffer) throws(LocalCloudError) -> Form {
        guard !boundary.isEmpty else { throw .unsupportedMediaType("send multipart/form-data with a boundary") }
        if let offset = nonASCIIHeaderName(boundary: boundary, body: body) {
            throw .badRequest("the multipart body is malformed: a part's header name holds a byte that is not ASCII (at byte \(offset))")
        }
        let parser = MultipartParser(boundary: boundary)
        var form = Form()
        var headers: [String: String] = [:]
        var current: [UInt8] = []
        var complete = false
        parser.onHeader = { name, value in headers[name.lowercased()] = value }
        parser.onBody = { buffer in current += buffer.readableBytesView }
        parser.onPartComplete = {
            let disposition = headers["content-disposition"] ?? ""
            if let name = Self.parameter("name", in: disposition) {
                if Self.parameter("filename", in: disposition) != nil { form.files[name] = current } else { form.fields[name] = String(decoding: current, as: UTF8.self) }
            }
            headers = [:]
            current = []
            complete = true
        }
        do { try parser.execute(body) } catch { throw .badRequest("the multipart body is malformed: \(error)") }
        guard complete else { throw .badRequest("the multipart body has no complete part") }
        return form
    }

    /// MultipartKit 4 looks each header-name byte up in a 128-entry table and traps on one
    /// above 0x7F (found by the cloud-http fuzz target). Header names are ASCII tokens (RFC 7230),
    /// so such a body is malformed anyway: find it first. This looks after every "--boundary"
    /// followed by CRLF, more places than the parser will, so it misses none of them.
    static func nonASCIIHeaderName(boundary: String, body: ByteBuffer) -> Int? {
        let bytes = Array(body.readableBytesView)
        let delimiter = Array("--\(boundary)\r\n".utf8)
        guard bytes.count >= delimiter.count else { return nil }
        var start = 0
        while start + delimiter.count <= bytes.count {
            guard bytes[start] == delimiter[0], bytes[start..<(start + delimiter.count)].elementsEqual(delimiter) else {
                start += 1
                continue
            }
            var index = start + delimiter.count
            // As the parser reads them: a name runs to its colon, a value to CR (a bare LF is
            // part of the value), LF follows; a CR where a name would start ends the headers.
            // Wherever the parser would throw, the scan stops too.
            lines: while index < bytes.count, bytes[index] != UInt8(ascii: "\r") {
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte >= 0x80 { return index }
                    index += 1
                    if byte == UInt8(ascii: ":") { break }
                    if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") { break lines }
                }
                while index < bytes.count, bytes[index] != UInt8(ascii: "\r") { index += 1 }
                guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") else { break }
                index += 2
            }
            start += 1
        }
        return nil
    }

    static func parameter(_ name: String, in disposition: String) -> String? {
        for piece in disposition.split(separator: ";") {
            let pair = piece.trimmingCharacters(in: .whitespaces)
            guard pair.hasPrefix(name + "=") else { continue }
            return String(pair.dropFirst(name.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }

    /// A JSON body as the call's type.
    package static func json<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) throws(LocalCloudError) -> T {
        do { return try JSONDecoder().decode(type, from: Data(body.readableBytesView)) } catch {
            throw .badRequest("the body is not the JSON this call takes: \(describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "\"\(key.stringValue)\" is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"
        case DecodingError.dataCorrupted: "malformed JSON"
        default: "\(error)"
        }
    }

    // MARK: The routes' bodies

    /// `PUT /v1/devices/:device`: the binary to flash, the form file "file".
    package static func flashBinary(_ form: Form) throws(LocalCloudError) -> [UInt8] {
        guard let binary = form.files["file"], !binary.isEmpty else { throw .badRequest("send the binary as the form file \"file\"") }
        try checkModule(binary)
        return binary
    }

    /// `POST /v1/products/:product/firmware`: a product firmware version to upload.
    package struct Upload: Hashable, Sendable {
        package var version: Int
        package var title: String
        package var binary: [UInt8]
    }

    package static func upload(_ form: Form) throws(LocalCloudError) -> Upload {
        guard let versionText = form.fields["version"], let version = Int(versionText), version > 0 else {
            throw .badRequest("version must be a whole number above 0")
        }
        guard let title = form.fields["title"], !title.isEmpty else { throw .badRequest("a title is required") }
        guard let binary = form.files["binary"], !binary.isEmpty else { throw .badRequest("send the binary as the form file \"binary\"") }
        try checkModule(binary)
        return Upload(version: version, title: title, binary: binary)
    }

    /// `PUT /v1/products/:product/firmware/release`.
    package static func release(_ body: ByteBuffer) throws(LocalCloudError) -> FirmwareRelease {
        try json(FirmwareRelease.self, body)
    }

    /// `POST /v1/products/:product/devices`: the ids to add, lowercased.
    package static func deviceIDs(_ body: ByteBuffer) throws(LocalCloudError) -> [String] {
        struct Body: Decodable { var ids: [String] }
        let ids = try json(Body.self, body).ids
        guard !ids.isEmpty, ids.allSatisfy(DeviceID.isValid) else {
            throw .badRequest("ids must be device ids: 24 hexadecimal digits each")
        }
        return ids.map { $0.lowercased() }
    }

    /// `PUT /v1/products/:product/devices/:device`: new groups, a new forced flag, or both.
    package struct DeviceSettings: Codable, Hashable, Sendable {
        package var groups: [String]?
        package var firmwareUpdatesForced: Bool?

        enum CodingKeys: String, CodingKey {
            case groups
            case firmwareUpdatesForced = "firmware_updates_forced"
        }
    }

    package static func deviceSettings(_ body: ByteBuffer) throws(LocalCloudError) -> DeviceSettings {
        let settings = try json(DeviceSettings.self, body)
        guard settings.groups != nil || settings.firmwareUpdatesForced != nil else {
            throw .badRequest("send groups or firmware_updates_forced")
        }
        if let groups = settings.groups {
            guard groups.allSatisfy({ !$0.isEmpty && $0.count <= 64 }) else { throw .badRequest("group names are 1 to 64 characters") }
        }
        return settings
    }

    /// A product firmware binary must at least be a module: refusing garbage here is what the
    /// real cloud does too.
    static func checkModule(_ binary: [UInt8]) throws(LocalCloudError) {
        let file: ModuleFile
        do { file = try ModuleFile(bytes: binary) } catch {
            throw .badRequest("the binary is not a Particle module: \(error)")
        }
        guard file.modules.first != nil else { throw .badRequest("the binary holds no Particle module") }
    }
}
