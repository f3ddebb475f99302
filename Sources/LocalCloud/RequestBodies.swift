import Cloud
import Firmware
import Foundation
import MultipartKit
import NIOCore

/// What the local cloud's routes take from request bodies, apart from the server: the routes
/// call these on the bytes a client sent, and so does the `cloud-http` fuzz target. Every
/// refusal is a `LocalCloudError`, which the server answers as a 4xx.
package enum RequestBodies {
    /// A `multipart/form-data` body: its plain fields, and its files by field name (with the
    /// file name each part gave).
    package struct Form: Hashable, Sendable {
        package var fields: [String: String]
        package var files: [String: [UInt8]]
        package var fileNames: [String: String]

        package init(fields: [String: String] = [:], files: [String: [UInt8]] = [:], fileNames: [String: String] = [:]) {
            self.fields = fields
            self.files = files
            self.fileNames = fileNames
        }
    }

    /// A body's parameters by its content type: a JSON object, a urlencoded form, or a
    /// multipart form. An empty body has none (a DELETE, a PUT of nothing); a body without a
    /// content type is JSON when it starts with `{`, else a form (curl's `-d`).
    package static func parameters(contentType: String?, body: ByteBuffer) throws(LocalCloudError) -> RequestParameters {
        let media = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        let bytes = body.readableBytesView
        if media == "multipart/form-data" {
            return RequestParameters(form: try form(boundary: try boundary(contentType: contentType), body: body))
        }
        guard let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return RequestParameters() }
        if media == "application/json" || media?.hasSuffix("+json") == true || (media == nil && first == UInt8(ascii: "{")) {
            return try jsonObject(body)
        }
        guard media == nil || media == "application/x-www-form-urlencoded" else {
            throw .unsupportedMediaType("send application/json, application/x-www-form-urlencoded or multipart/form-data, not \(contentType ?? "")")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .badRequest("the form is not UTF-8") }
        return try RequestParameters.urlEncoded(Substring(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    static func jsonObject(_ body: ByteBuffer) throws(LocalCloudError) -> RequestParameters {
        switch try json(RequestParameters.Value.self, body) {
        case .object(let values): return RequestParameters(values: values)
        default: throw .badRequest("the body must be a JSON object")
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
                if let fileName = Self.parameter("filename", in: disposition) {
                    form.files[name] = current
                    form.fileNames[name] = fileName
                } else {
                    form.fields[name] = String(decoding: current, as: UTF8.self)
                }
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

    /// `PUT /v1/devices/:device` and `PUT /v1/products/:product/devices/:device` as multipart:
    /// the binary to flash, the form file "file" (particle-api-js names its first file so).
    package static func flashBinary(_ parameters: RequestParameters) throws(LocalCloudError) -> [UInt8] {
        guard let binary = parameters.files["file"], !binary.isEmpty else { throw .badRequest("send the binary as the form file \"file\"") }
        try checkModule(binary)
        return binary
    }

    /// `POST /v1/products/:product/firmware`: a product firmware version to upload.
    package struct Upload: Hashable, Sendable {
        package var version: Int
        package var title: String
        package var description: String
        /// The name the client gave the file.
        package var fileName: String
        package var binary: [UInt8]
    }

    /// The binary is the file "file", as Particle's API takes it; "binary" (what our client
    /// sent before) is taken too.
    package static func upload(_ parameters: RequestParameters) throws(LocalCloudError) -> Upload {
        guard let version = try? parameters.int("version"), version > 0 else { throw .badRequest("version must be a whole number above 0") }
        guard let title = try parameters.string("title"), !title.isEmpty else { throw .badRequest("a title is required") }
        let part = parameters.files["file"] != nil ? "file" : "binary"
        guard let binary = parameters.files[part], !binary.isEmpty else { throw .badRequest("send the binary as the form file \"file\"") }
        try checkModule(binary)
        let fileName = parameters.fileNames[part].flatMap { $0.isEmpty ? nil : $0 } ?? "firmware.bin"
        return Upload(version: version, title: title, description: try parameters.string("description") ?? "", fileName: fileName, binary: binary)
    }

    /// `PUT /v1/products/:product/firmware/release`. A version alone is a product default
    /// release, as particle-api-js's `releaseProductFirmware` means it.
    package static func release(_ parameters: RequestParameters) throws(LocalCloudError) -> FirmwareRelease {
        guard let version = try parameters.int("version") else { throw .badRequest("\"version\" is missing") }
        let groups = try parameters.strings("groups") ?? []
        guard groups.allSatisfy(isGroupName) else { throw .badRequest("group names are 1 to 64 characters") }
        let productDefault = try parameters.bool("product_default")
        return FirmwareRelease(version: version, productDefault: productDefault ?? groups.isEmpty, groups: groups,
                               intelligent: try parameters.bool("intelligent") ?? false)
    }

    /// `POST /v1/products/:product/devices`: the ids to add, lowercased. As `{"ids": […]}`,
    /// `{"id": …}` (particle-api-js), form fields, or a file "file" holding one id per line.
    package static func deviceIDs(_ parameters: RequestParameters) throws(LocalCloudError) -> [String] {
        var ids = try parameters.strings("ids") ?? []
        if let id = try parameters.string("id") { ids.append(id) }
        if let file = parameters.files["file"] {
            ids += String(decoding: file, as: UTF8.self).split(whereSeparator: { $0.isWhitespace || $0 == "," }).map(String.init)
        }
        guard !ids.isEmpty, ids.allSatisfy(DeviceID.isValid) else {
            throw .badRequest("ids must be device ids: 24 hexadecimal digits each")
        }
        return ids.map { $0.lowercased() }
    }

    /// `POST /v1/devices` (claim): the device id.
    package static func claim(_ parameters: RequestParameters) throws(LocalCloudError) -> String {
        guard let id = try parameters.string("id"), DeviceID.isValid(id) else { throw .badRequest("id must be a device id: 24 hexadecimal digits") }
        return id.lowercased()
    }

    /// `PUT /v1/products/:product/devices/:device` and `PUT /v1/devices/:device` with settings:
    /// what to change. Nil leaves a setting as it is.
    package struct DeviceSettings: Hashable, Sendable {
        package var groups: [String]?
        package var firmwareUpdatesForced: Bool?
        /// `.some(nil)` unlocks the device.
        package var desiredFirmwareVersion: Int??
        /// With a lock: send it to an online device now rather than at its next session.
        package var flash: Bool?
        package var development: Bool?
        package var name: String?
        /// `.some(nil)` clears the notes.
        package var notes: String??
        /// Particle makes the LED shout rainbows; the local cloud takes it and does nothing.
        package var signal: Bool?

        package init(groups: [String]? = nil, firmwareUpdatesForced: Bool? = nil, desiredFirmwareVersion: Int?? = nil, flash: Bool? = nil,
                     development: Bool? = nil, name: String? = nil, notes: String?? = nil, signal: Bool? = nil) {
            self.groups = groups
            self.firmwareUpdatesForced = firmwareUpdatesForced
            self.desiredFirmwareVersion = desiredFirmwareVersion
            self.flash = flash
            self.development = development
            self.name = name
            self.notes = notes
            self.signal = signal
        }

        package var isEmpty: Bool {
            groups == nil && firmwareUpdatesForced == nil && desiredFirmwareVersion == nil && development == nil && name == nil && notes == nil
                && signal == nil
        }
    }

    package static let settingNames = "groups, firmware_updates_forced, desired_firmware_version, development, name, notes or signal"

    package static func deviceSettings(_ parameters: RequestParameters) throws(LocalCloudError) -> DeviceSettings {
        var settings = DeviceSettings()
        settings.groups = try parameters.strings("groups")
        settings.firmwareUpdatesForced = try parameters.bool("firmware_updates_forced")
        settings.desiredFirmwareVersion = try parameters.nullableInt("desired_firmware_version")
        settings.flash = try parameters.bool("flash")
        settings.development = try parameters.bool("development")
        settings.name = try parameters.string("name")
        if parameters.values["notes"] != nil { settings.notes = .some(try parameters.string("notes")) }
        settings.signal = try parameters.bool("signal")
        guard !settings.isEmpty else { throw .badRequest("send \(settingNames)") }
        if let groups = settings.groups {
            guard groups.allSatisfy(isGroupName) else { throw .badRequest("group names are 1 to 64 characters") }
        }
        if case .some(.some(let version)) = settings.desiredFirmwareVersion, version <= 0 {
            throw .badRequest("desired_firmware_version must be a product firmware version above 0, or null")
        }
        if let name = settings.name {
            guard isDeviceName(name) else { throw .badRequest("a device name is 1 to 63 letters, digits, - and _") }
        }
        if case .some(.some(let notes)) = settings.notes, notes.utf8.count > 4096 { throw .badRequest("notes are at most 4096 bytes") }
        return settings
    }

    /// `PUT /v1/products/:product/firmware/:version`: a new title, description, or both.
    package static func firmwareEdit(_ parameters: RequestParameters) throws(LocalCloudError) -> (title: String?, description: String?) {
        let title = try parameters.string("title"), description = try parameters.string("description")
        guard title != nil || description != nil else { throw .badRequest("send title or description") }
        if let title, title.isEmpty { throw .badRequest("a title is required") }
        return (title, description)
    }

    /// `POST /v1/devices/events` and `POST /v1/products/:product/events`: an event to publish.
    package struct Publish: Hashable, Sendable {
        package var name: String
        package var data: String
        package var ttl: Int
        package var isPrivate: Bool

        package init(name: String, data: String, ttl: Int, isPrivate: Bool) {
            self.name = name
            self.data = data
            self.ttl = ttl
            self.isPrivate = isPrivate
        }
    }

    package static func publish(_ parameters: RequestParameters) throws(LocalCloudError) -> Publish {
        // A line break in the name would end the stream's `event:` line early.
        guard let name = try parameters.string("name"), (1...64).contains(name.count), !name.contains(where: \.isNewline) else {
            throw .badRequest("an event name is 1 to 64 characters on one line")
        }
        let data = try parameters.string("data") ?? ""
        guard data.utf8.count <= 16 << 10 else { throw .badRequest("event data is at most 16 KiB") }
        let ttl = try parameters.int("ttl") ?? 60
        guard ttl >= 0 else { throw .badRequest("ttl must be 0 or more seconds") }
        return Publish(name: name, data: data, ttl: ttl, isPrivate: try parameters.bool("private") ?? true)
    }

    /// `POST /oauth/token`: the password grant's credentials.
    package static func login(_ parameters: RequestParameters) throws(LocalCloudError) -> (username: String, password: String) {
        if let grant = try parameters.string("grant_type"), grant != "password" {
            throw .badRequest("unsupported_grant_type: the local cloud takes grant_type=password")
        }
        guard let username = try parameters.string("username"), let password = try parameters.string("password") else {
            throw .invalidGrant("send username and password")
        }
        return (username, password)
    }

    /// `GET /v1/products/:product/devices`: its query.
    package struct DevicePage: Hashable, Sendable {
        /// Devices in any of these groups; every device when empty.
        package var groups: [String]
        /// From 1.
        package var page: Int
        package var perPage: Int
        /// Ids and names containing these, when set.
        package var deviceID: String?
        package var deviceName: String?

        package init(groups: [String], page: Int, perPage: Int, deviceID: String?, deviceName: String?) {
            self.groups = groups
            self.page = page
            self.perPage = perPage
            self.deviceID = deviceID
            self.deviceName = deviceName
        }
    }

    package static func devicePage(_ query: RequestParameters) throws(LocalCloudError) -> DevicePage {
        let groups = (try query.strings("groups") ?? []).flatMap { $0.split(separator: ",").map(String.init) }
        let page = try query.int("page") ?? 1, perPage = try query.int("per_page") ?? 25
        guard page >= 1 else { throw .badRequest("page counts from 1") }
        guard (1...1000).contains(perPage) else { throw .badRequest("per_page is 1 to 1000") }
        return DevicePage(groups: groups, page: page, perPage: perPage, deviceID: try query.string("deviceId")?.lowercased(),
                          deviceName: try query.string("deviceName"))
    }

    static func isGroupName(_ name: String) -> Bool { !name.isEmpty && name.count <= 64 }

    /// Particle's names: letters, digits, - and _; pyparticleio and spyrk key devices by them.
    static func isDeviceName(_ name: String) -> Bool {
        (1...63).contains(name.count) && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
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
