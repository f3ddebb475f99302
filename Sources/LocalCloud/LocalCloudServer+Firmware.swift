import Firmware
import Foundation
import Hummingbird
import NIOCore

/// Product firmware: upload, list, read, edit, download, delete, release.
extension LocalCloudServer {
    func addFirmwareRoutes(_ router: Router<BasicRequestContext>) {
        let server = self
        router.get("/v1/products/:product/firmware") { _, context in
            try await server.answer { try server.store.firmware(product: try server.product(context)) }
        }
        router.post("/v1/products/:product/firmware") { request, context in
            try await server.answer(status: .created) {
                let product = try server.product(context)
                let upload = try RequestBodies.upload(RequestParameters(form: try await server.form(request)))
                return try server.store.upload(product: product, version: upload.version, title: upload.title, description: upload.description,
                                               fileName: upload.fileName, binary: upload.binary, sha256: SHA256.digest(upload.binary).hexString)
            }
        }
        // A constant segment wins over a parameter: PUT …/firmware/release is the release, and
        // GET …/firmware/release a JSON 404 (that node has no GET).
        router.put("/v1/products/:product/firmware/release") { request, context in
            try await server.answer {
                let product = try server.product(context)
                let release = try server.store.release(product: product, try RequestBodies.release(try await server.parameters(request)))
                try server.gateway?.released(product: product, release)
                return ReleaseRecord(release: release, firmware: try server.store.firmware(product: product, version: release.version),
                                     updatedAt: store.timestamp())
            }
        }
        router.get("/v1/products/:product/firmware/:version") { _, context in
            try await server.answer { try server.store.firmware(product: try server.product(context), version: try Self.version(context)) }
        }
        router.put("/v1/products/:product/firmware/:version") { request, context in
            try await server.answer {
                let edit = try RequestBodies.firmwareEdit(try await server.parameters(request))
                return try server.store.editFirmware(product: try server.product(context), version: try Self.version(context), title: edit.title,
                                                     description: edit.description)
            }
        }
        router.delete("/v1/products/:product/firmware/:version") { _, context in
            try server.store.deleteFirmware(product: try server.product(context), version: try Self.version(context))
            return Response(status: .noContent)
        }
        router.get("/v1/products/:product/firmware/:version/binary") { _, context in
            let product = try server.product(context), version = try Self.version(context)
            let name = try server.store.firmwareFileName(product: product, version: version)
            let binary = try server.store.binary(product: product, version: version)
            let quoted = name.filter { $0 != "\"" && !$0.isNewline }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream", .contentDisposition: "attachment; filename=\"\(quoted)\""],
                            body: .init(byteBuffer: ByteBuffer(bytes: binary)))
        }
    }
}
