import Cloud
import Foundation
import Hummingbird
import NIOCore

/// Event streams (server-sent events) and publishing. Every stream URL of Particle's API is
/// served, with and without a name prefix; the prefix is the rest of the path, percent-decoded
/// segment by segment, because event names hold slashes and particle-api-js sends them as
/// `spark%2Fflash%2Fstatus` while pyparticleio sends them raw.
extension LocalCloudServer {
    struct Published: Encodable { var ok = true }

    func addEventRoutes(_ router: Router<BasicRequestContext>) {
        let server = self
        // Every event, and those published to no product (the local cloud has one account, so
        // "my devices" is every device).
        for base in ["/v1/events", "/v1/devices/events"] {
            router.get(RouterPath(base)) { _, _ in server.stream(server.events.subscribe(product: nil, prefix: nil)) }
            router.get(RouterPath(base + "/**")) { _, context in
                server.stream(server.events.subscribe(product: nil, prefix: Self.eventName(context)))
            }
        }
        router.get("/v1/devices/:device/events") { _, context in try server.deviceStream(context, prefix: nil) }
        router.get("/v1/devices/:device/events/**") { _, context in try server.deviceStream(context, prefix: Self.eventName(context)) }
        router.get("/v1/products/:product/events") { _, context in try server.productStream(context, prefix: nil) }
        router.get("/v1/products/:product/events/**") { _, context in try server.productStream(context, prefix: Self.eventName(context)) }
        router.get("/v1/products/:product/devices/:device/events") { _, context in
            try server.productDeviceStream(context, prefix: nil)
        }
        router.get("/v1/products/:product/devices/:device/events/**") { _, context in
            try server.productDeviceStream(context, prefix: Self.eventName(context))
        }

        router.post("/v1/devices/events") { request, _ in
            try await server.answer { try server.publish(try RequestBodies.publish(try await server.parameters(request)), product: nil) }
        }
        router.post("/v1/products/:product/events") { request, context in
            try await server.answer {
                let product = try server.product(context)
                guard try server.store.hasProduct(product) else { throw LocalCloudError.notFound("no product \(product)") }
                return try server.publish(try RequestBodies.publish(try await server.parameters(request)), product: product)
            }
        }
    }

    /// An event the API publishes: its coreid is "api", as on Particle's cloud. It reaches the
    /// streams only; devices do not subscribe here.
    func publish(_ event: RequestBodies.Publish, product: String?) throws -> Published {
        events.publish(product: product, CloudEvent(name: event.name, data: event.data, coreid: "api", publishedAt: store.timestamp(),
                                                     ttl: event.ttl))
        return Published()
    }

    /// The name prefix a stream's path ends in.
    static func eventName(_ context: BasicRequestContext) -> String {
        context.parameters.getCatchAll().map { $0.removingPercentEncoding ?? String($0) }.joined(separator: "/")
    }

    func deviceStream(_ context: BasicRequestContext, prefix: String?) throws -> Response {
        let device = try Self.deviceID(context)
        guard try store.product(ofDevice: device) != nil else { throw LocalCloudError.notFound("no device \(device)") }
        return stream(events.subscribe(product: nil, prefix: prefix, device: device))
    }

    func productStream(_ context: BasicRequestContext, prefix: String?) throws -> Response {
        let product = try self.product(context)
        guard try store.hasProduct(product) else { throw LocalCloudError.notFound("no product \(product)") }
        return stream(events.subscribe(product: product, prefix: prefix))
    }

    func productDeviceStream(_ context: BasicRequestContext, prefix: String?) throws -> Response {
        let product = try self.product(context), device = try Self.deviceID(context)
        _ = try store.device(product: product, device)
        return stream(events.subscribe(product: product, prefix: prefix, device: device))
    }

    /// With a charset: without one, Python's requests reads `text/*` as ISO-8859-1, and
    /// pyparticleio's sseclient would garble data that is not ASCII.
    func stream(_ events: AsyncStream<CloudEvent?>) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"], body: .init { writer in
            // A comment first, so the client sees the stream open before any event.
            try await writer.write(ByteBuffer(string: ":ok\n\n"))
            for await event in events {
                guard let event else {
                    try await writer.write(ByteBuffer(string: ":\n\n"))
                    continue
                }
                try await writer.write(ByteBuffer(string: ServerSentEventParser.format(event)))
            }
            try await writer.finish(nil)
        })
    }
}
