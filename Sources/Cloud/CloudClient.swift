import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Where the cloud is and the token that opens it. The token is never printed: this value's
/// description shows only the base URL.
public struct CloudCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var baseURL: String
    let token: String

    public init(baseURL: String, token: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    /// From `PARTICLE_API_BASE_URL` (default https://api.particle.io) and `PARTICLE_ACCESS_TOKEN`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> CloudCredentials? {
        guard let token = environment["PARTICLE_ACCESS_TOKEN"], !token.isEmpty else { return nil }
        return CloudCredentials(baseURL: environment["PARTICLE_API_BASE_URL"] ?? "https://api.particle.io", token: token)
    }

    public var description: String { "\(baseURL) (token hidden)" }
    public var debugDescription: String { description }
}

/// A cloud API call that failed: the HTTP status and what the API said.
public struct CloudError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var status: Int?
    public var message: String

    public init(operation: String, status: Int?, message: String) {
        self.operation = operation
        self.status = status
        self.message = message
    }

    public var description: String {
        "cloud: \(operation) failed" + (status.map { " (HTTP \($0))" } ?? "") + ": \(message)"
    }
}

/// Particle's cloud REST API, the subset a test bench needs: flash one device, upload, list,
/// download and release product firmware, device groups, a device's firmware state and its
/// lock, publishing, and the event streams.
/// The same calls reach the local device cloud (`otabench cloud serve`).
public struct CloudClient: Sendable {
    public let credentials: CloudCredentials
    private let http: HTTPClient
    public var timeout: TimeAmount = .seconds(60)
    /// Larger answers are refused rather than held in memory.
    public var answerLimit = 16 << 20

    /// One connection pool for every client of the process. A refused connection is an answer
    /// at once (a cloud that is down), not retried until the request's deadline.
    public static let sharedHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(credentials: CloudCredentials, http: HTTPClient = CloudClient.sharedHTTP) {
        self.credentials = credentials
        self.http = http
    }

    // MARK: Calls

    /// `PUT /v1/devices/{id}`: flash one device with a binary.
    public func flashDevice(_ deviceID: String, firmware: [UInt8], fileName: String = "firmware.bin") async throws {
        let form = MultipartForm(parts: [.file(name: "file", fileName: fileName, bytes: firmware)])
        _ = try await send(.PUT, "/v1/devices/\(escaped(deviceID))", body: form.body, contentType: form.contentType,
                           operation: "flash device \(deviceID)")
    }

    /// `POST /v1/products/{product}/firmware`: upload a product firmware version. The binary
    /// goes in the part "file", the one Particle's API takes.
    public func uploadProductFirmware(product: String, version: Int, title: String, description: String? = nil,
                                      binary: [UInt8]) async throws -> ProductFirmware {
        var parts: [MultipartForm.Part] = [.field(name: "version", value: "\(version)"), .field(name: "title", value: title)]
        if let description { parts.append(.field(name: "description", value: description)) }
        let form = MultipartForm(parts: parts + [.file(name: "file", fileName: "firmware.bin", bytes: binary)])
        return try await decode(ProductFirmware.self, try await send(.POST, "/v1/products/\(escaped(product))/firmware", body: form.body,
                                                                    contentType: form.contentType,
                                                                    operation: "upload firmware v\(version) to product \(product)"))
    }

    /// `GET /v1/products/{product}/firmware`: every version uploaded.
    public func productFirmware(product: String) async throws -> [ProductFirmware] {
        try await decode([ProductFirmware].self, try await send(.GET, "/v1/products/\(escaped(product))/firmware",
                                                               operation: "list the firmware of product \(product)"))
    }

    /// `GET /v1/products/{product}/firmware/{version}/binary`: the binary as uploaded.
    public func downloadFirmware(product: String, version: Int) async throws -> [UInt8] {
        try await send(.GET, "/v1/products/\(escaped(product))/firmware/\(version)/binary", accept: "application/octet-stream",
                       operation: "download firmware v\(version) of product \(product)")
    }

    /// `PUT /v1/products/{product}/firmware/release`.
    public func release(product: String, _ release: FirmwareRelease) async throws -> FirmwareRelease {
        let body = try JSONEncoder().encode(release)
        return try await decode(FirmwareRelease.self, try await send(.PUT, "/v1/products/\(escaped(product))/firmware/release",
                                                                    body: [UInt8](body), contentType: "application/json",
                                                                    operation: "release firmware v\(release.version) of product \(product)"))
    }

    /// `GET /v1/products/{product}/groups`.
    public func groups(product: String) async throws -> [DeviceGroup] {
        struct Answer: Decodable { var groups: [DeviceGroup] }
        return try await decode(Answer.self, try await send(.GET, "/v1/products/\(escaped(product))/groups",
                                                           operation: "list the groups of product \(product)")).groups
    }

    /// `POST /v1/products/{product}/devices`: add devices to the product.
    public func addDevices(product: String, _ deviceIDs: [String]) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["ids": deviceIDs])
        _ = try await send(.POST, "/v1/products/\(escaped(product))/devices", body: [UInt8](body), contentType: "application/json",
                           operation: "add \(deviceIDs.count) devices to product \(product)")
    }

    /// `PUT /v1/products/{product}/devices/{id}`: the device's groups, exactly these.
    public func setGroups(product: String, deviceID: String, _ groups: [String]) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["groups": groups])
        _ = try await send(.PUT, "/v1/products/\(escaped(product))/devices/\(escaped(deviceID))", body: [UInt8](body),
                           contentType: "application/json", operation: "set the groups of \(deviceID)")
    }

    /// `PUT /v1/products/{product}/devices/{id}` with `firmware_updates_forced`: updates reach the
    /// device even while its application disables them.
    public func setUpdatesForced(product: String, deviceID: String, _ forced: Bool) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["firmware_updates_forced": forced])
        _ = try await send(.PUT, "/v1/products/\(escaped(product))/devices/\(escaped(deviceID))", body: [UInt8](body),
                           contentType: "application/json", operation: "\(forced ? "force" : "stop forcing") updates on \(deviceID)")
    }

    /// `PUT /v1/products/{product}/devices/{id}` with `desired_firmware_version`: lock the
    /// device to a product firmware version. It gets the version at its next session, or now
    /// when `flash` is set and it is online.
    public func lockFirmware(product: String, deviceID: String, version: Int, flash: Bool = false) async throws {
        try await putDevice(product: product, deviceID: deviceID, ["desired_firmware_version": version, "flash": flash],
                            operation: "lock \(deviceID) to firmware v\(version)")
    }

    /// `PUT /v1/products/{product}/devices/{id}` with `desired_firmware_version: null`: releases
    /// decide the device's firmware again.
    public func unlockFirmware(product: String, deviceID: String) async throws {
        try await putDevice(product: product, deviceID: deviceID, ["desired_firmware_version": NSNull()], operation: "unlock \(deviceID)")
    }

    /// `PUT /v1/products/{product}/devices/{id}` with `development`: a development device takes
    /// no automatic product firmware.
    public func setDevelopment(product: String, deviceID: String, _ development: Bool) async throws {
        try await putDevice(product: product, deviceID: deviceID, ["development": development],
                            operation: "\(development ? "mark" : "unmark") \(deviceID) as a development device")
    }

    private func putDevice(product: String, deviceID: String, _ fields: [String: Any], operation: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: fields)
        _ = try await send(.PUT, "/v1/products/\(escaped(product))/devices/\(escaped(deviceID))", body: [UInt8](body),
                           contentType: "application/json", operation: operation)
    }

    /// `GET /v1/products/{product}/devices/{id}`.
    public func device(product: String, _ deviceID: String) async throws -> DeviceFirmwareState {
        try await decode(DeviceFirmwareState.self, try await send(.GET, "/v1/products/\(escaped(product))/devices/\(escaped(deviceID))",
                                                                 operation: "read device \(deviceID)"))
    }

    /// `GET /v1/products/{product}/devices`: every device of the product (in the groups given,
    /// when any), page after page.
    public func devices(product: String, groups: [String] = []) async throws -> [DeviceFirmwareState] {
        struct Page: Decodable {
            struct Meta: Decodable {
                var totalPages: Int?
                enum CodingKeys: String, CodingKey { case totalPages = "total_pages" }
            }
            var devices: [DeviceFirmwareState]
            var meta: Meta?
        }
        var result: [DeviceFirmwareState] = []
        var page = 1
        while true {
            var query = "?page=\(page)&per_page=100"
            if !groups.isEmpty { query += "&groups=" + groups.map(escapedQuery).joined(separator: ",") }
            let answer = try await decode(Page.self, try await send(.GET, "/v1/products/\(escaped(product))/devices" + query,
                                                                   operation: "list the devices of product \(product)"))
            result += answer.devices
            guard page < (answer.meta?.totalPages ?? 1), !answer.devices.isEmpty else { return result }
            page += 1
        }
    }

    /// `POST /v1/devices/events`, or `/v1/products/{product}/events`: publish an event as the
    /// API does (its coreid is "api").
    public func publish(name: String, data: String = "", product: String? = nil, isPrivate: Bool = true, ttl: Int = 60) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["name": name, "data": data, "private": isPrivate, "ttl": ttl] as [String: Any])
        let path = product.map { "/v1/products/\(escaped($0))/events" } ?? "/v1/devices/events"
        _ = try await send(.POST, path, body: [UInt8](body), contentType: "application/json", operation: "publish \(name)")
    }

    /// `GET /v1/products/{product}/events[/{prefix}]`: the event stream, as events arrive,
    /// until the stream ends or the task is cancelled.
    public func events(product: String, prefix: String? = nil) async throws -> AsyncThrowingStream<CloudEvent, any Error> {
        try await stream("/v1/products/\(escaped(product))/events" + eventPath(prefix), operation: "follow the events of product \(product)")
    }

    /// `GET /v1/devices/{id}/events[/{prefix}]`: one device's events.
    public func events(deviceID: String, prefix: String? = nil) async throws -> AsyncThrowingStream<CloudEvent, any Error> {
        try await stream("/v1/devices/\(escaped(deviceID))/events" + eventPath(prefix), operation: "follow the events of device \(deviceID)")
    }

    /// `GET /v1/events[/{prefix}]`: every event the account sees, the API's own included.
    public func events(prefix: String? = nil) async throws -> AsyncThrowingStream<CloudEvent, any Error> {
        try await stream("/v1/events" + eventPath(prefix), operation: "follow the events")
    }

    /// An event prefix keeps its slashes (spark/flash): each segment is escaped on its own.
    private func eventPath(_ prefix: String?) -> String {
        prefix.map { "/" + $0.split(separator: "/").map { escaped(String($0)) }.joined(separator: "/") } ?? ""
    }

    private func stream(_ path: String, operation: String) async throws -> AsyncThrowingStream<CloudEvent, any Error> {
        let response = try await execute(.GET, path, body: nil, contentType: nil, accept: "text/event-stream",
                                         timeout: .hours(24 * 365), operation: operation)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: CloudEvent.self)
        let reader = Task {
            var parser = ServerSentEventParser()
            do {
                for try await buffer in response.body {
                    for message in parser.feed(Array(buffer.readableBytesView)) {
                        guard let event = ServerSentEventParser.cloudEvent(in: message) else { continue }
                        continuation.yield(event)
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: CloudError(operation: operation, status: nil, message: "\(error)"))
            }
        }
        continuation.onTermination = { _ in reader.cancel() }
        return stream
    }

    // MARK: Transport

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String? = nil, accept: String = "application/json",
                      operation: String) async throws -> [UInt8] {
        let response = try await execute(method, path, body: body, contentType: contentType, accept: accept, timeout: timeout,
                                         operation: operation)
        let bytes: ByteBuffer
        do { bytes = try await response.body.collect(upTo: answerLimit) } catch {
            throw CloudError(operation: operation, status: Int(response.status.code), message: "reading the answer: \(error)")
        }
        return Array(bytes.readableBytesView)
    }

    private func execute(_ method: HTTPMethod, _ path: String, body: [UInt8]?, contentType: String?, accept: String, timeout: TimeAmount,
                         operation: String) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: credentials.baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(credentials.token)")
        request.headers.add(name: "Accept", value: accept)
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: timeout) } catch {
            throw CloudError(operation: operation, status: nil, message: "cannot reach \(credentials.baseURL): \(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let text = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
            let said = (try? JSONDecoder().decode(APIErrorBody.self, from: Data(text.utf8))).flatMap { $0.errorDescription ?? $0.error ?? $0.info }
            throw CloudError(operation: operation, status: Int(response.status.code),
                             message: said ?? (text.isEmpty ? response.status.reasonPhrase : String(text.prefix(300))))
        }
        return response
    }

    private func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) async throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch {
            throw CloudError(operation: "read the answer", status: nil, message: "not the expected \(type): \(error)")
        }
    }

    private func escapedQuery(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    private func escaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}
