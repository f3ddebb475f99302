import Cloud
import Firmware
import Foundation
import Hummingbird
import Logging
import MultipartKit
import NIOCore
import ServiceLifecycle

/// The local device cloud's REST side, on loopback by default: the part of Particle's cloud API
/// that `CloudClient` and Particle's own clients (particle-api-js, pyparticleio, spyrk) call,
/// answered from `LocalCloudStore` as Particle documents it. Bodies may be JSON, urlencoded or
/// multipart. Every refusal is `{"ok": false, "error": code, "error_description": reason}`;
/// the cloud's access token guards every route but the token grant. The routes are in the
/// extensions beside this file, by what they serve.
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
        // Idle connections close after 30 s (event streams beat every 9 s), so a stopping server
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
        // Before the routes: a middleware reaches only the routes added after it.
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: AccessTokenMiddleware(token: token, bodyLimit: bodyLimit))
        addAccountRoutes(router)
        addDeviceRoutes(router)
        addFirmwareRoutes(router)
        addEventRoutes(router)
        return router
    }

    // MARK: Paths

    /// A device id from the path: ids match in any case (the store keeps them lowercase).
    static func deviceID(_ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require("device")
        return (raw.removingPercentEncoding ?? raw).lowercased()
    }

    /// The product a path names, by slug or numeric id.
    func product(_ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require("product")
        return try store.resolveProduct(raw.removingPercentEncoding ?? raw)
    }

    static func version(_ context: BasicRequestContext) throws -> Int {
        guard let version = context.parameters.get("version").flatMap({ Int($0) }), version > 0 else {
            throw LocalCloudError.badRequest("a firmware version is a whole number above 0")
        }
        return version
    }

    /// The query as parameters (`?page=2&groups=a%2Cb`).
    static func query(_ request: Request) throws -> RequestParameters {
        try RequestParameters.urlEncoded((request.uri.query ?? "")[...])
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

    /// The body's parameters, whichever of JSON, urlencoded and multipart it is.
    func parameters(_ request: Request) async throws -> RequestParameters {
        try RequestBodies.parameters(contentType: request.headers[.contentType], body: try await body(request))
    }

    static func isMultipart(_ request: Request) -> Bool {
        request.headers[.contentType]?.lowercased().hasPrefix("multipart/form-data") == true
    }

    /// Runs a handler; its value becomes the JSON answer, a refusal the JSON error.
    func answer<T: Encodable>(status: HTTPResponse.Status = .ok, _ body: () async throws -> T) async throws -> Response {
        do { return try Self.respond(status, try await body()) } catch let error as LocalCloudError {
            return Self.refuse(error)
        }
    }

    static func respond<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func refuse(_ error: LocalCloudError) -> Response {
        refuse(status: error.status, code: error.code, description: error.message)
    }

    static func refuse(status: Int, code: String, description: String) -> Response {
        struct Refusal: Encodable {
            var ok = false
            var error: String
            var errorDescription: String
            enum CodingKeys: String, CodingKey {
                case ok, error
                case errorDescription = "error_description"
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Two strings and a bool always encode.
        let body = (try? encoder.encode(Refusal(error: code, errorDescription: description))) ?? Data()
        return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
