import Cloud
import Foundation
import GRDB

/// The local cloud's state in SQLite: products, their devices and groups, product firmware,
/// releases. Every change is one transaction, so a restart (or a kill) loses nothing that
/// was answered.
public final class LocalCloudStore: Sendable {
    let queue: DatabaseQueue
    /// What the cloud's timestamps (a device's last contact, a firmware's upload, an event's
    /// `published_at`) read: the wall clock, unless a test gives it one of its own.
    public let now: @Sendable () -> Date

    public init(path: String, now: @escaping @Sendable () -> Date = { Date() }) throws {
        self.now = now
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        queue = try DatabaseQueue(path: path)
        try Self.migrator.migrate(queue)
    }

    /// `now` as Particle's API writes times: ISO 8601, UTC.
    public func timestamp() -> String { now().formatted(.iso8601) }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "product") { t in
                t.primaryKey("slug", .text)
                t.column("defaultVersion", .integer)
            }
            try db.create(table: "device") { t in
                t.primaryKey("id", .text)
                t.column("product", .text).notNull().indexed().references("product")
                t.column("groups", .text).notNull().defaults(to: "[]")
                t.column("online", .boolean).notNull().defaults(to: false)
                t.column("firmwareVersion", .integer)
                t.column("updatesEnabled", .boolean).notNull().defaults(to: true)
                t.column("updatesForced", .boolean).notNull().defaults(to: false)
                // A binary sent to this device alone (PUT /v1/devices/{id}), waiting for it.
                t.column("directFlash", .blob)
            }
            try db.create(table: "firmware") { t in
                t.column("product", .text).notNull().references("product")
                t.column("version", .integer).notNull()
                t.column("title", .text).notNull()
                t.column("sha256", .text).notNull()
                t.column("binary", .blob).notNull()
                t.column("uploaded", .text).notNull()
                t.primaryKey(["product", "version"])
            }
            try db.create(table: "groupRelease") { t in
                t.column("product", .text).notNull().references("product")
                t.column("groupName", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("intelligent", .boolean).notNull()
                t.primaryKey(["product", "groupName"])
            }
        }
        migrator.registerMigration("v2: pending") { db in
            // Whether the device was told an update waits for it (particle/device/updates/pending).
            try db.alter(table: "device") { t in t.add(column: "pending", .boolean).notNull().defaults(to: false) }
        }
        migrator.registerMigration("v3: Particle's device and firmware fields") { db in
            try db.alter(table: "device") { t in
                t.add(column: "name", .text)
                t.add(column: "platformID", .integer)
                t.add(column: "lastHeard", .text)
                t.add(column: "lastHandshake", .text)
                // The product version the device is locked to (desired_firmware_version): it
                // wins over releases, from the device's next session on.
                t.add(column: "desiredVersion", .integer)
                // A development device takes no automatic product firmware, locked or released.
                t.add(column: "development", .boolean).notNull().defaults(to: false)
                t.add(column: "notes", .text)
                t.add(column: "owner", .text)
            }
            try db.alter(table: "firmware") { t in
                t.add(column: "description", .text).notNull().defaults(to: "")
                t.add(column: "fileName", .text).notNull().defaults(to: "firmware.bin")
                // Ever released (to a group or as the default): such a version cannot be deleted.
                t.add(column: "released", .boolean).notNull().defaults(to: false)
            }
            // Particle's paths take a product's numeric id or its slug. Assigned once, never the
            // rowid (a VACUUM may renumber that).
            try db.alter(table: "product") { t in t.add(column: "numericID", .integer) }
            for (index, slug) in try String.fetchAll(db, sql: "SELECT slug FROM product ORDER BY slug").enumerated() {
                try db.execute(sql: "UPDATE product SET numericID = ? WHERE slug = ?", arguments: [index + 1, slug])
            }
            try db.execute(sql: "CREATE UNIQUE INDEX product_numericID ON product (numericID)")
            try db.execute(sql: """
                UPDATE firmware SET released = 1 WHERE EXISTS (SELECT 1 FROM product WHERE slug = firmware.product AND defaultVersion = firmware.version)
                    OR EXISTS (SELECT 1 FROM groupRelease WHERE product = firmware.product AND version = firmware.version)
                """)
        }
        return migrator
    }

    // MARK: Products

    /// Creates a product if it is new, with the next numeric id.
    static func createProduct(_ db: Database, _ product: String) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO product (slug, numericID) VALUES (?, (SELECT COALESCE(MAX(numericID), 0) + 1 FROM product))",
                       arguments: [product])
    }

    /// The slug a path's product names: a slug first, else a numeric id (Particle's paths take
    /// either). An unknown name is returned as it is, for the routes that create products.
    public func resolveProduct(_ idOrSlug: String) throws -> String {
        try queue.read { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM product WHERE slug = ?", arguments: [idOrSlug]) != nil { return idOrSlug }
            guard let number = Int(idOrSlug) else { return idOrSlug }
            return try String.fetchOne(db, sql: "SELECT slug FROM product WHERE numericID = ?", arguments: [number]) ?? idOrSlug
        }
    }

    public func hasProduct(_ product: String) throws -> Bool {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT 1 FROM product WHERE slug = ?", arguments: [product]) != nil }
    }

    public func products() throws -> [ProductRecord] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT slug, numericID, (SELECT COUNT(*) FROM device WHERE device.product = slug) AS devices FROM product ORDER BY numericID")
                .map { ProductRecord(id: $0["numericID"], slug: $0["slug"], deviceCount: $0["devices"]) }
        }
    }

    public func product(_ product: String) throws -> ProductRecord {
        guard let record = try products().first(where: { $0.slug == product }) else { throw LocalCloudError.notFound("no product \(product)") }
        return record
    }

    // MARK: Devices

    /// Adds devices to a product (creating the product), leaving devices it has alone. Returns
    /// the ids added and those it had.
    @discardableResult
    public func addDevices(product: String, _ ids: [String]) throws -> (added: [String], existing: [String]) {
        try queue.write { db in
            try Self.createProduct(db, product)
            var added: [String] = [], existing: [String] = []
            for id in ids.map({ $0.lowercased() }) {
                guard let owner = try String.fetchOne(db, sql: "SELECT product FROM device WHERE id = ?", arguments: [id]) else {
                    try db.execute(sql: "INSERT INTO device (id, product) VALUES (?, ?)", arguments: [id, product])
                    added.append(id)
                    continue
                }
                guard owner == product else { throw LocalCloudError.conflict("device \(id) belongs to product \(owner)") }
                existing.append(id)
            }
            return (added, existing)
        }
    }

    /// Takes a device out of its product; it is unknown to the cloud afterwards.
    public func removeDevice(product: String, _ id: String) throws {
        try queue.write { db in
            try Self.requireDevice(db, product: product, id)
            try db.execute(sql: "DELETE FROM device WHERE id = ?", arguments: [id.lowercased()])
        }
    }

    public func setGroups(product: String, device id: String, _ groups: [String]) throws {
        try queue.write { db in
            try Self.requireDevice(db, product: product, id)
            try Self.setGroups(db, device: id.lowercased(), groups)
        }
    }

    static func setGroups(_ db: Database, device id: String, _ groups: [String]) throws {
        let json = String(decoding: try JSONEncoder().encode(Array(Set(groups)).sorted()), as: UTF8.self)
        try db.execute(sql: "UPDATE device SET groups = ? WHERE id = ?", arguments: [json, id])
    }

    public func groups(product: String) throws -> [DeviceGroup] {
        try queue.read { db in
            try Self.requireProduct(db, product)
            var counts: [String: Int] = [:]
            for json in try String.fetchAll(db, sql: "SELECT groups FROM device WHERE product = ?", arguments: [product]) {
                for name in Self.decodeGroups(json) { counts[name, default: 0] += 1 }
            }
            return counts.keys.sorted().map { DeviceGroup(name: $0, deviceCount: counts[$0]) }
        }
    }

    /// A device of the product.
    public func device(product: String, _ id: String) throws -> DeviceRecord {
        try queue.read { db in try Self.record(db, try Self.requireDevice(db, product: product, id)) }
    }

    /// A device of any product.
    public func device(_ id: String) throws -> DeviceRecord {
        try queue.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM device WHERE id = ?", arguments: [id.lowercased()]) else {
                throw LocalCloudError.notFound("no device \(id)")
            }
            return try Self.record(db, row)
        }
    }

    /// Every device the cloud knows (the local cloud has one account, and it owns them all).
    public func devices() throws -> [DeviceRecord] {
        try queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM device ORDER BY id").map { try Self.record(db, $0) } }
    }

    /// One page of a product's devices, and how many pages there are.
    package func devices(product: String, _ query: RequestBodies.DevicePage) throws -> (devices: [DeviceRecord], totalPages: Int) {
        try queue.read { db in
            try Self.requireProduct(db, product)
            let wanted = Set(query.groups)
            let matching = try Row.fetchAll(db, sql: "SELECT * FROM device WHERE product = ? ORDER BY id", arguments: [product])
                .map { try Self.record(db, $0) }
                .filter { device in
                    (wanted.isEmpty || !wanted.isDisjoint(with: device.groups)) && (query.deviceID.map { device.id.contains($0) } ?? true)
                        && (query.deviceName.map { device.name.localizedCaseInsensitiveContains($0) } ?? true)
                }
            let pages = max(1, (matching.count + query.perPage - 1) / query.perPage)
            let start = min(matching.count, (query.page - 1) * query.perPage)
            return (Array(matching[start..<min(matching.count, start + query.perPage)]), pages)
        }
    }

    /// The account claims a device the cloud knows (one added to a product).
    public func claim(_ id: String) throws -> DeviceRecord {
        try queue.write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM device WHERE id = ?", arguments: [id.lowercased()]) != nil else {
                throw LocalCloudError.notFound("no device \(id): add it to a product first")
            }
            try db.execute(sql: "UPDATE device SET owner = ? WHERE id = ?", arguments: [LocalCloudAccount.username, id.lowercased()])
            return try Self.record(db, try Self.requireDevice(db, id))
        }
    }

    /// Changes a device's settings at once, all or none (a lock naming a version the product
    /// lacks changes nothing else either). `product`: the device must be in it.
    package func update(device id: String, product: String?, _ settings: RequestBodies.DeviceSettings) throws -> DeviceRecord {
        try queue.write { db in
            let row = try product.map { try Self.requireDevice(db, product: $0, id) } ?? Self.requireDevice(db, id)
            let device: String = row["id"], owner: String = row["product"]
            if let groups = settings.groups { try Self.setGroups(db, device: device, groups) }
            if let forced = settings.firmwareUpdatesForced {
                try db.execute(sql: "UPDATE device SET updatesForced = ? WHERE id = ?", arguments: [forced, device])
            }
            if let desired = settings.desiredFirmwareVersion {
                if let version = desired {
                    guard try Int.fetchOne(db, sql: "SELECT 1 FROM firmware WHERE product = ? AND version = ?", arguments: [owner, version]) != nil else {
                        throw LocalCloudError.notFound("product \(owner) has no firmware version \(version); upload it first")
                    }
                }
                try db.execute(sql: "UPDATE device SET desiredVersion = ? WHERE id = ?", arguments: [desired, device])
            }
            if let development = settings.development {
                try db.execute(sql: "UPDATE device SET development = ? WHERE id = ?", arguments: [development, device])
            }
            if let name = settings.name {
                // Names are unique, given ones and default ones alike: pyparticleio and spyrk
                // key devices by them.
                if let clash = try String.fetchOne(db, sql: "SELECT id FROM device WHERE id != ? AND COALESCE(name, ? || id) = ?",
                                                   arguments: [device, Self.defaultNamePrefix, name]) {
                    throw LocalCloudError.conflict("device \(clash) is named \(name) already")
                }
                try db.execute(sql: "UPDATE device SET name = ? WHERE id = ?", arguments: [name, device])
            }
            if let notes = settings.notes { try db.execute(sql: "UPDATE device SET notes = ? WHERE id = ?", arguments: [notes, device]) }
            var record = try Self.record(db, try Self.requireDevice(db, device))
            record.updatedAt = timestamp()
            return record
        }
    }

    /// A device without a name is called this and its id.
    static let defaultNamePrefix = "otabench_"

    /// A device's row as the API answers it.
    static func record(_ db: Database, _ row: Row) throws -> DeviceRecord {
        let id: String = row["id"], product: String = row["product"]
        let groups = decodeGroups(row["groups"])
        return DeviceRecord(id: id, name: row["name"] ?? defaultNamePrefix + id, owner: row["owner"], lastHeard: row["lastHeard"],
                            lastHandshakeAt: row["lastHandshake"], product: product,
                            productID: try Int.fetchOne(db, sql: "SELECT numericID FROM product WHERE slug = ?", arguments: [product]) ?? 0,
                            online: row["online"], platformID: row["platformID"], notes: row["notes"], groups: groups,
                            firmwareVersion: row["firmwareVersion"], desiredFirmwareVersion: row["desiredVersion"],
                            targetedFirmwareReleaseVersion: try targetedVersion(db, product: product, groups: groups),
                            firmwareUpdatesEnabled: row["updatesEnabled"], firmwareUpdatesForced: row["updatesForced"],
                            development: row["development"])
    }

    static func decodeGroups(_ json: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }

    /// A group release wins over the product default; of several groups, the highest version.
    static func targetedVersion(_ db: Database, product: String, groups: [String]) throws -> Int? {
        var best: Int?
        for name in groups {
            if let version = try Int.fetchOne(db, sql: "SELECT version FROM groupRelease WHERE product = ? AND groupName = ?",
                                              arguments: [product, name]) {
                best = max(best ?? version, version)
            }
        }
        return try best ?? Int.fetchOne(db, sql: "SELECT defaultVersion FROM product WHERE slug = ?", arguments: [product])
    }

    // MARK: Firmware and releases

    public func upload(product: String, version: Int, title: String, description: String = "", fileName: String = "firmware.bin",
                       binary: [UInt8], sha256: String) throws -> FirmwareRecord {
        try queue.write { db in
            try Self.createProduct(db, product)
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM firmware WHERE product = ? AND version = ?", arguments: [product, version]) == nil else {
                throw LocalCloudError.conflict("product \(product) already has firmware version \(version)")
            }
            try db.execute(sql: """
                INSERT INTO firmware (product, version, title, description, fileName, sha256, binary, uploaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [product, version, title, description, fileName, sha256, Data(binary), timestamp()])
            return try Self.firmware(db, product: product, version: version)
        }
    }

    public func firmware(product: String) throws -> [FirmwareRecord] {
        try queue.read { db in
            try Self.requireProduct(db, product)
            return try Int.fetchAll(db, sql: "SELECT version FROM firmware WHERE product = ? ORDER BY version", arguments: [product])
                .map { try Self.firmware(db, product: product, version: $0) }
        }
    }

    public func firmware(product: String, version: Int) throws -> FirmwareRecord {
        try queue.read { db in
            try Self.requireProduct(db, product)
            return try Self.firmware(db, product: product, version: version)
        }
    }

    /// The file name a version was uploaded with, for its download.
    public func firmwareFileName(product: String, version: Int) throws -> String {
        try firmware(product: product, version: version).fileName
    }

    public func editFirmware(product: String, version: Int, title: String?, description: String?) throws -> FirmwareRecord {
        try queue.write { db in
            try Self.requireProduct(db, product)
            _ = try Self.firmware(db, product: product, version: version)
            if let title {
                try db.execute(sql: "UPDATE firmware SET title = ? WHERE product = ? AND version = ?", arguments: [title, product, version])
            }
            if let description {
                try db.execute(sql: "UPDATE firmware SET description = ? WHERE product = ? AND version = ?", arguments: [description, product, version])
            }
            return try Self.firmware(db, product: product, version: version)
        }
    }

    /// Deletes a version that was never released and no device is locked to; any other is
    /// refused, as Particle's cloud does.
    public func deleteFirmware(product: String, version: Int) throws {
        try queue.write { db in
            try Self.requireProduct(db, product)
            _ = try Self.firmware(db, product: product, version: version)
            guard try Bool.fetchOne(db, sql: "SELECT released FROM firmware WHERE product = ? AND version = ?", arguments: [product, version]) == false else {
                throw LocalCloudError.conflict("firmware version \(version) of product \(product) was released; it cannot be deleted")
            }
            if let locked = try String.fetchOne(db, sql: "SELECT id FROM device WHERE product = ? AND desiredVersion = ?", arguments: [product, version]) {
                throw LocalCloudError.conflict("device \(locked) is locked to firmware version \(version); unlock it first")
            }
            try db.execute(sql: "DELETE FROM firmware WHERE product = ? AND version = ?", arguments: [product, version])
        }
    }

    static func firmware(_ db: Database, product: String, version: Int) throws -> FirmwareRecord {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT title, description, fileName, length(binary) AS size, uploaded FROM firmware WHERE product = ? AND version = ?
            """, arguments: [product, version]) else {
            throw LocalCloudError.notFound("product \(product) has no firmware version \(version)")
        }
        let defaultVersion = try Int.fetchOne(db, sql: "SELECT defaultVersion FROM product WHERE slug = ?", arguments: [product])
        return FirmwareRecord(version: version, title: row["title"], description: row["description"], fileName: row["fileName"], size: row["size"],
                              productDefault: defaultVersion == version, uploadedOn: row["uploaded"],
                              productID: try Int.fetchOne(db, sql: "SELECT numericID FROM product WHERE slug = ?", arguments: [product]) ?? 0,
                              groups: try String.fetchAll(db, sql: "SELECT groupName FROM groupRelease WHERE product = ? AND version = ? ORDER BY groupName",
                                                          arguments: [product, version]),
                              deviceCount: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM device WHERE product = ? AND firmwareVersion = ?",
                                                            arguments: [product, version]) ?? 0)
    }

    public func release(product: String, _ release: FirmwareRelease) throws -> FirmwareRelease {
        try queue.write { db in
            try Self.requireProduct(db, product)
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM firmware WHERE product = ? AND version = ?", arguments: [product, release.version]) != nil else {
                throw LocalCloudError.notFound("product \(product) has no firmware version \(release.version); upload it first")
            }
            guard release.productDefault || !release.groups.isEmpty else {
                throw LocalCloudError.badRequest("a release needs product_default or at least one group")
            }
            if release.productDefault {
                try db.execute(sql: "UPDATE product SET defaultVersion = ? WHERE slug = ?", arguments: [release.version, product])
            }
            for group in release.groups {
                try db.execute(sql: "INSERT OR REPLACE INTO groupRelease (product, groupName, version, intelligent) VALUES (?, ?, ?, ?)",
                               arguments: [product, group, release.version, release.intelligent])
            }
            try db.execute(sql: "UPDATE firmware SET released = 1 WHERE product = ? AND version = ?", arguments: [product, release.version])
            return release
        }
    }

    /// Keeps a binary for one device; it reaches the device at its next session.
    public func flashDevice(_ id: String, binary: [UInt8]) throws -> String {
        try queue.write { db in
            let id = id.lowercased()
            guard let product = try String.fetchOne(db, sql: "SELECT product FROM device WHERE id = ?", arguments: [id]) else {
                throw LocalCloudError.notFound("no device \(id)")
            }
            try db.execute(sql: "UPDATE device SET directFlash = ? WHERE id = ?", arguments: [Data(binary), id])
            return product
        }
    }

    @discardableResult
    static func requireProduct(_ db: Database, _ product: String) throws -> Bool {
        guard try Int.fetchOne(db, sql: "SELECT 1 FROM product WHERE slug = ?", arguments: [product]) != nil else {
            throw LocalCloudError.notFound("no product \(product)")
        }
        return true
    }

    @discardableResult
    static func requireDevice(_ db: Database, product: String, _ id: String) throws -> Row {
        try requireProduct(db, product)
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM device WHERE id = ? AND product = ?", arguments: [id.lowercased(), product]) else {
            throw LocalCloudError.notFound("product \(product) has no device \(id)")
        }
        return row
    }

    static func requireDevice(_ db: Database, _ id: String) throws -> Row {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM device WHERE id = ?", arguments: [id.lowercased()]) else {
            throw LocalCloudError.notFound("no device \(id)")
        }
        return row
    }
}

/// A request the local cloud refuses, with the HTTP status it answers and, as Particle's
/// cloud does, a short code in `error` and the reason in `error_description`.
public enum LocalCloudError: Error, Hashable, Sendable {
    case badRequest(String)
    /// Wrong credentials for `POST /oauth/token` (OAuth's own code for it).
    case invalidGrant(String)
    case unauthorized(String)
    case notFound(String)
    case conflict(String)
    case tooLarge(String)
    case unsupportedMediaType(String)

    var status: Int {
        switch self {
        case .badRequest, .invalidGrant: 400
        case .unauthorized: 401
        case .notFound: 404
        case .conflict: 409
        case .tooLarge: 413
        case .unsupportedMediaType: 415
        }
    }

    var code: String {
        switch self {
        case .badRequest: "invalid_request"
        case .invalidGrant: "invalid_grant"
        case .unauthorized: "invalid_token"
        case .notFound: "not_found"
        case .conflict: "conflict"
        case .tooLarge: "payload_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        }
    }

    var message: String {
        switch self {
        case .badRequest(let text), .invalidGrant(let text), .unauthorized(let text), .notFound(let text), .conflict(let text), .tooLarge(let text),
             .unsupportedMediaType(let text): text
        }
    }
}
