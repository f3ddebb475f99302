import Cloud
import Firmware
import Foundation
import Hummingbird
import Logging
import MultipartKit
import NIOCore
import ServiceLifecycle

/// The local device cloud's REST side, on loopback by default: the subset of Particle's cloud
/// API `CloudClient` speaks, answered from `LocalCloudStore`. Every refusal is a 4xx with
/// `{"ok": false, "error": …}`; a bearer token guards every route.
public struct LocalCloudServer: Sendable {
    public let store: LocalCloudStore
    public let events: EventHub
    public let token: String
    /// The device-facing side, told what the API changed (releases, forced flags, direct flashes).
    public var gateway: DeviceGateway?
    /// Request bodies above this are refused with 413 (a module is at most a few MiB).
    public var bodyLimit = 8 << 20

    public init(store: LocalCloudStore, token: String, events: EventHub = EventHub()) {
        self.store = store
        self.token = token
        self.events = events
    }

    /// Serves until `stop` returns (then gracefully: it stops listening, finishes the requests in
    /// flight and ends the event streams, which never end by themselves), or until the task is
    /// cancelled. `onRunning` gets the port (useful with port 0).
    public func run(host: String = "127.0.0.1", port: Int, logger: Logger = Logger(label: "otabench.cloud"),
                    onRunning: @escaping @Sendable (Int) async -> Void = { _ in },
                    until stop: @escaping @Sendable () async -> Void = { while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) } }) async throws {
        // Idle connections close after 30 s (event streams beat every 15 s), so a stopping server
        // waits at most that long for clients that keep connections open.
        let app = Application(router: router(), server: .http1(configuration: .init(idleTimeout: .seconds(30))),
                              configuration: .init(address: .hostname(host, port: port), serverName: "otabench-cloud"),
                              onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let events = self.events
        try await withTaskCancellationHandler {
            // true: the server ended; false: `stop` returned and a graceful shutdown began.
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return true
                }
                tasks.addTask {
                    await stop()
                    events.finishAll()
                    await group.triggerGracefulShutdown()
                    return false
                }
                // The server ending first (it could not start) ends the wait for `stop` too;
                // after `stop`, the server is left to finish its shutdown.
                if try await tasks.next() == true { tasks.cancelAll() }
                try await tasks.waitForAll()
            }
        } onCancel: {
            events.finishAll()
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: BearerTokenMiddleware(token: token))
        let server = self
        router.put("/v1/devices/:device") { request, context in
            try await server.answer {
                let id = try context.parameters.require("device")
                let form = try await server.form(request)
                guard let binary = form.files["file"], !binary.isEmpty else { throw LocalCloudError.badRequest("send the binary as the form file \"file\"") }
                try server.checkModule(binary)
                let product = try server.store.flashDevice(id, binary: binary)
                server.events.publish(product: product, CloudEvent(name: "spark/flash/status", data: FlashStatus.started, coreid: id,
                                                                   publishedAt: Date().formatted(.iso8601)))
                server.gateway?.flashRequested(device: id)
                return ["id": id, "status": "Update started"]
            }
        }
        router.post("/v1/products/:product/firmware") { request, context in
            try await server.answer(status: .created) {
                let product = try context.parameters.require("product")
                let form = try await server.form(request)
                guard let versionText = form.fields["version"], let version = Int(versionText), version > 0 else {
                    throw LocalCloudError.badRequest("version must be a whole number above 0")
                }
                guard let title = form.fields["title"], !title.isEmpty else { throw LocalCloudError.badRequest("a title is required") }
                guard let binary = form.files["binary"], !binary.isEmpty else { throw LocalCloudError.badRequest("send the binary as the form file \"binary\"") }
                try server.checkModule(binary)
                return try server.store.upload(product: product, version: version, title: title, binary: binary,
                                               sha256: SHA256.digest(binary).hexString)
            }
        }
        router.put("/v1/products/:product/firmware/release") { request, context in
            try await server.answer {
                let product = try context.parameters.require("product")
                let release = try server.store.release(product: product, try await server.json(FirmwareRelease.self, request))
                try server.gateway?.released(product: product, release)
                return release
            }
        }
        router.get("/v1/products/:product/groups") { _, context in
            try await server.answer { ["groups": try server.store.groups(product: try context.parameters.require("product"))] }
        }
        router.post("/v1/products/:product/devices") { request, context in
            try await server.answer {
                struct Body: Decodable { var ids: [String] }
                let ids = try await server.json(Body.self, request).ids
                guard !ids.isEmpty, ids.allSatisfy(Self.isDeviceID) else {
                    throw LocalCloudError.badRequest("ids must be device ids: 24 hexadecimal digits each")
                }
                try server.store.addDevices(product: try context.parameters.require("product"), ids.map { $0.lowercased() })
                return ["added": ids.count]
            }
        }
        router.put("/v1/products/:product/devices/:device") { request, context in
            try await server.answer {
                struct Body: Decodable {
                    var groups: [String]?
                    var firmwareUpdatesForced: Bool?
                    enum CodingKeys: String, CodingKey {
                        case groups
                        case firmwareUpdatesForced = "firmware_updates_forced"
                    }
                }
                let body = try await server.json(Body.self, request)
                let product = try context.parameters.require("product"), device = try context.parameters.require("device")
                guard body.groups != nil || body.firmwareUpdatesForced != nil else {
                    throw LocalCloudError.badRequest("send groups or firmware_updates_forced")
                }
                if let groups = body.groups {
                    guard groups.allSatisfy({ !$0.isEmpty && $0.count <= 64 }) else { throw LocalCloudError.badRequest("group names are 1 to 64 characters") }
                    try server.store.setGroups(product: product, device: device, groups)
                }
                if let forced = body.firmwareUpdatesForced {
                    try server.store.setForced(product: product, device: device, forced: forced)
                    try server.gateway?.forcedChanged(device: device, forced: forced)
                }
                return try server.store.device(product: product, device)
            }
        }
        router.get("/v1/products/:product/devices/:device") { _, context in
            try await server.answer { try server.store.device(product: try context.parameters.require("product"), try context.parameters.require("device")) }
        }
        router.get("/v1/devices/:device/events") { _, context in try await server.deviceStream(context, prefix: nil) }
        router.get("/v1/devices/:device/events/**") { _, context in
            try await server.deviceStream(context, prefix: context.parameters.getCatchAll().joined(separator: "/"))
        }
        router.get("/v1/products/:product/events") { _, context in try await server.stream(context, prefix: nil) }
        // Event names hold slashes (spark/flash/status): the prefix is the rest of the path.
        router.get("/v1/products/:product/events/**") { _, context in
            try await server.stream(context, prefix: context.parameters.getCatchAll().joined(separator: "/"))
        }
        return router
    }

    static func isDeviceID(_ text: String) -> Bool {
        text.count == 24 && text.allSatisfy(\.isHexDigit)
    }

    /// A product firmware binary must at least be a module: refusing garbage here is what the
    /// real cloud does too.
    func checkModule(_ binary: [UInt8]) throws {
        do {
            let file = try ModuleFile(bytes: binary)
            guard file.modules.first != nil else { throw LocalCloudError.badRequest("the binary holds no Particle module") }
        } catch let error as LocalCloudError { throw error } catch {
            throw LocalCloudError.badRequest("the binary is not a Particle module: \(error)")
        }
    }

    // MARK: Bodies and answers

    func body(_ request: Request) async throws -> ByteBuffer {
        do { return try await request.body.collect(upTo: bodyLimit) } catch {
            throw LocalCloudError.tooLarge("the body is larger than \(bodyLimit) bytes")
        }
    }

    func json<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let bytes = try await body(request)
        do { return try JSONDecoder().decode(type, from: Data(bytes.readableBytesView)) } catch {
            throw LocalCloudError.badRequest("the body is not the JSON this call takes: \(Self.describe(error))")
        }
    }

    struct Form {
        var fields: [String: String] = [:]
        var files: [String: [UInt8]] = [:]
    }

    func form(_ request: Request) async throws -> Form {
        guard let contentType = request.headers[.contentType], contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundary = contentType.components(separatedBy: "boundary=").last?.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")),
              !boundary.isEmpty
        else { throw LocalCloudError.unsupportedMediaType("send multipart/form-data with a boundary") }
        let bytes = try await body(request)
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
        do { try parser.execute(bytes) } catch { throw LocalCloudError.badRequest("the multipart body is malformed: \(error)") }
        guard complete else { throw LocalCloudError.badRequest("the multipart body has no complete part") }
        return form
    }

    static func parameter(_ name: String, in disposition: String) -> String? {
        for piece in disposition.split(separator: ";") {
            let pair = piece.trimmingCharacters(in: .whitespaces)
            guard pair.hasPrefix(name + "=") else { continue }
            return String(pair.dropFirst(name.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
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

    /// Runs a handler; its value becomes the JSON answer, a refusal the JSON error.
    func answer<T: Encodable>(status: HTTPResponse.Status = .ok, _ body: () async throws -> T) async throws -> Response {
        do { return try Self.respond(status, try await body()) } catch let error as LocalCloudError {
            return Self.refuse(error)
        }
    }

    static func respond<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func refuse(_ error: LocalCloudError) -> Response {
        let body = try! JSONSerialization.data(withJSONObject: ["ok": false, "error": error.message], options: [.sortedKeys])
        return Response(status: HTTPResponse.Status(code: error.status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    func deviceStream(_ context: BasicRequestContext, prefix: String?) async throws -> Response {
        let device = try context.parameters.require("device")
        guard let product = try store.product(ofDevice: device) else { return Self.refuse(.notFound("no device \(device)")) }
        return try await stream(events.subscribe(product: product, prefix: prefix, device: device))
    }

    func stream(_ context: BasicRequestContext, prefix: String?) async throws -> Response {
        let product = try context.parameters.require("product")
        guard try store.hasProduct(product) else { return Self.refuse(.notFound("no product \(product)")) }
        return try await stream(events.subscribe(product: product, prefix: prefix))
    }

    func stream(_ events: AsyncStream<CloudEvent?>) async throws -> Response {
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: .init { writer in
            // A comment first, so the client sees the stream open before any event.
            try await writer.write(ByteBuffer(string: ":ok\n\n"))
            for await event in events {
                guard let event else {
                    try await writer.write(ByteBuffer(string: ":\n\n"))
                    continue
                }
                let data = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
                try await writer.write(ByteBuffer(string: ServerSentEventParser.format(event: event.name, data: data)))
            }
            try await writer.finish(nil)
        })
    }
}

/// Every route wants `Authorization: Bearer TOKEN`.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.dropFirst(7) == token else {
            return LocalCloudServer.refuse(.unauthorized("invalid_token: send Authorization: Bearer with the cloud's access token"))
        }
        return try await next(request, context)
    }
}
