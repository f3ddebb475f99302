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
                let binary = try RequestBodies.flashBinary(form)
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
                let upload = try RequestBodies.upload(form)
                return try server.store.upload(product: product, version: upload.version, title: upload.title, binary: upload.binary,
                                               sha256: SHA256.digest(upload.binary).hexString)
            }
        }
        router.put("/v1/products/:product/firmware/release") { request, context in
            try await server.answer {
                let product = try context.parameters.require("product")
                let body = try await server.body(request)
                let release = try server.store.release(product: product, try RequestBodies.release(body))
                try server.gateway?.released(product: product, release)
                return release
            }
        }
        router.get("/v1/products/:product/groups") { _, context in
            try await server.answer { ["groups": try server.store.groups(product: try context.parameters.require("product"))] }
        }
        router.post("/v1/products/:product/devices") { request, context in
            try await server.answer {
                let body = try await server.body(request)
                let ids = try RequestBodies.deviceIDs(body)
                try server.store.addDevices(product: try context.parameters.require("product"), ids)
                return ["added": ids.count]
            }
        }
        router.put("/v1/products/:product/devices/:device") { request, context in
            try await server.answer {
                let bytes = try await server.body(request)
                let body = try RequestBodies.deviceSettings(bytes)
                let product = try context.parameters.require("product"), device = try context.parameters.require("device")
                if let groups = body.groups {
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

    // MARK: Bodies and answers (parsed by RequestBodies)

    func body(_ request: Request) async throws -> ByteBuffer {
        do { return try await request.body.collect(upTo: bodyLimit) } catch {
            throw LocalCloudError.tooLarge("the body is larger than \(bodyLimit) bytes")
        }
    }

    /// The content type is checked before the body is read.
    func form(_ request: Request) async throws -> RequestBodies.Form {
        let boundary = try RequestBodies.boundary(contentType: request.headers[.contentType])
        let bytes = try await body(request)
        return try RequestBodies.form(boundary: boundary, body: bytes)
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
