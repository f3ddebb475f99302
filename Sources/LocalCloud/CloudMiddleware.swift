import Foundation
import Hummingbird
import Logging
import NIOCore

/// The outermost middleware: whatever goes wrong answers JSON, as Particle's cloud does.
/// particle-api-js parses every non-2xx body as JSON and pyparticleio and spyrk read `error`
/// and `error_description` from it, so Hummingbird's empty 404 (an unknown route, a method a
/// route lacks) or 500 (an error no handler expected) would fail in the client instead of
/// saying what happened.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch let error as LocalCloudError {
            return LocalCloudServer.refuse(error)
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not_found" : error.status.code >= 500 ? "server_error" : "invalid_request"
            let description = error.body
                ?? (error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return LocalCloudServer.refuse(status: Int(error.status.code), code: code, description: description)
        } catch {
            context.logger.error("local cloud: \(request.method) \(request.uri.path) failed: \(error)")
            return LocalCloudServer.refuse(status: 500, code: "server_error", description: "the local cloud failed: \(error)")
        }
    }
}

/// Every route but the token grant wants the cloud's access token, where Particle's API takes
/// it: `Authorization: Bearer TOKEN` (every client), the query parameter `access_token`
/// (pyparticleio and spyrk, on every call), or a urlencoded body's `access_token` field (the
/// docs' curl). `POST /oauth/token` is open: clients send it with no token, a stale one, or
/// HTTP Basic client credentials.
struct AccessTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String
    let bodyLimit: Int

    static let open: Set<String> = ["/oauth/token", "/v1/devices/oauth/token"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .post, Self.open.contains(request.uri.path) { return try await next(request, context) }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            // A Bearer header decides alone: a wrong one is refused even beside a right parameter.
            guard header.dropFirst(7) == token else { throw Self.refusal }
            return try await next(request, context)
        }
        if let query = request.uri.query, let given = try? RequestParameters.urlEncoded(query[...]).string("access_token") {
            guard given == token else { throw Self.refusal }
            return try await next(request, context)
        }
        let media = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        if media == "application/x-www-form-urlencoded" {
            // Collected here and kept on the request: the handler reads the same bytes.
            var request = request
            let bytes: ByteBuffer
            do { bytes = try await request.collectBody(upTo: bodyLimit) } catch {
                throw LocalCloudError.tooLarge("the body is larger than \(bodyLimit) bytes")
            }
            let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
            if let given = try? RequestParameters.urlEncoded(text[...]).string("access_token") {
                guard given == token else { throw Self.refusal }
                return try await next(request, context)
            }
        }
        throw Self.refusal
    }

    static let refusal = LocalCloudError.unauthorized("The access token provided is invalid.")
}
