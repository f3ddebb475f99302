import Cloud
import Foundation
import Hummingbird

/// Devices: the account's (`/v1/devices`) and a product's (`/v1/products/:product/devices`),
/// each answered as one `DeviceRecord`; flashing, claiming, settings and firmware locks.
extension LocalCloudServer {
    /// The documented answer to adding devices to a product.
    struct AddedDevices: Encodable {
        var updated: Int
        var updatedDeviceIDs: [String]
        var existingDeviceIDs: [String]
        var nonmemberDeviceIDs: [String] = []
        var invalidDeviceIDs: [String] = []

        enum CodingKeys: String, CodingKey {
            case updated
            case updatedDeviceIDs = "updatedDeviceIds"
            case existingDeviceIDs = "existingDeviceIds"
            case nonmemberDeviceIDs = "nonmemberDeviceIds"
            case invalidDeviceIDs = "invalidDeviceIds"
        }
    }

    struct Claimed: Encodable {
        var ok = true
        var id: String
        var userID = LocalCloudAccount.username
        var connected: Bool

        enum CodingKeys: String, CodingKey {
            case ok, id, connected
            case userID = "user_id"
        }
    }

    struct DevicePage: Encodable {
        struct Meta: Encodable {
            var totalPages: Int
            enum CodingKeys: String, CodingKey { case totalPages = "total_pages" }
        }

        var devices: [DeviceRecord]
        var customers: [String] = []
        var meta: Meta
    }

    func addDeviceRoutes(_ router: Router<BasicRequestContext>) {
        let server = self
        router.get("/v1/devices") { _, _ in try await server.answer { try server.store.devices() } }
        router.post("/v1/devices") { request, _ in
            try await server.answer {
                let device = try server.store.claim(try RequestBodies.claim(try await server.parameters(request)))
                return Claimed(id: device.id, connected: device.online)
            }
        }
        router.get("/v1/devices/:device") { _, context in try await server.answer { try server.store.device(try Self.deviceID(context)) } }
        // A multipart body flashes the device; any other changes its settings.
        router.put("/v1/devices/:device") { request, context in
            let id = try Self.deviceID(context)
            if Self.isMultipart(request) { return try await server.answer { try await server.flash(request, device: id, product: nil) } }
            return try await server.answer { try server.apply(try RequestBodies.deviceSettings(try await server.parameters(request)), device: id, product: nil) }
        }
        router.post("/v1/products/:product/devices") { request, context in
            try await server.answer {
                let product = try server.product(context)
                let ids = try RequestBodies.deviceIDs(try await server.parameters(request))
                let (added, existing) = try server.store.addDevices(product: product, ids)
                return AddedDevices(updated: added.count, updatedDeviceIDs: added, existingDeviceIDs: existing)
            }
        }
        router.get("/v1/products/:product/devices") { request, context in
            try await server.answer {
                let page = try server.store.devices(product: try server.product(context), try RequestBodies.devicePage(try Self.query(request)))
                return DevicePage(devices: page.devices, meta: .init(totalPages: page.totalPages))
            }
        }
        router.get("/v1/products/:product/devices/:device") { _, context in
            try await server.answer { try server.store.device(product: try server.product(context), try Self.deviceID(context)) }
        }
        router.put("/v1/products/:product/devices/:device") { request, context in
            let product = try server.product(context), id = try Self.deviceID(context)
            if Self.isMultipart(request) { return try await server.answer { try await server.flash(request, device: id, product: product) } }
            return try await server.answer {
                try server.apply(try RequestBodies.deviceSettings(try await server.parameters(request)), device: id, product: product)
            }
        }
        router.delete("/v1/products/:product/devices/:device") { _, context in
            try server.store.removeDevice(product: try server.product(context), try Self.deviceID(context))
            return Response(status: .noContent)
        }
        router.get("/v1/products/:product/groups") { _, context in
            try await server.answer { ["groups": try server.store.groups(product: try server.product(context))] }
        }
    }

    /// A binary for one device (`file`), sent at once to an online device, else at its next
    /// session. `product`: the device must be in it.
    func flash(_ request: Request, device id: String, product: String?) async throws -> [String: String] {
        let binary = try RequestBodies.flashBinary(RequestParameters(form: try await form(request)))
        if let product { _ = try store.device(product: product, id) }
        let owner = try store.flashDevice(id, binary: binary)
        events.publish(product: owner, CloudEvent(name: "spark/flash/status", data: FlashStatus.started, coreid: id, publishedAt: store.timestamp()))
        gateway?.flashRequested(device: id)
        return ["id": id, "status": "Update started"]
    }

    /// Settings change in the store first; then the device's session hears what concerns it
    /// now: a forced flag at once, a lock only with `flash: true` (any other lock takes effect
    /// at the device's next session, as Particle's does).
    func apply(_ settings: RequestBodies.DeviceSettings, device id: String, product: String?) throws -> DeviceRecord {
        let record = try store.update(device: id, product: product, settings)
        if let forced = settings.firmwareUpdatesForced { try gateway?.forcedChanged(device: id, forced: forced) }
        if settings.desiredFirmwareVersion != nil, settings.flash == true { try gateway?.desiredChanged(device: id) }
        return record
    }
}
