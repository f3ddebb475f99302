import Cloud
import Foundation
import GRDB

/// The local cloud's state in SQLite: products, their devices and groups, product firmware,
/// releases. Every change is one transaction, so a restart (or a kill) loses nothing that
/// was answered.
public final class LocalCloudStore: Sendable {
    let queue: DatabaseQueue

    public init(path: String) throws {
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        queue = try DatabaseQueue(path: path)
        try Self.migrator.migrate(queue)
    }

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
        return migrator
    }

    // MARK: Products and devices

    /// Adds devices to a product (creating the product), leaving devices it has alone.
    public func addDevices(product: String, _ ids: [String]) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO product (slug) VALUES (?)", arguments: [product])
            for id in ids {
                guard let owner = try String.fetchOne(db, sql: "SELECT product FROM device WHERE id = ?", arguments: [id]) else {
                    try db.execute(sql: "INSERT INTO device (id, product) VALUES (?, ?)", arguments: [id, product])
                    continue
                }
                guard owner == product else { throw LocalCloudError.conflict("device \(id) belongs to product \(owner)") }
            }
        }
    }

    public func setGroups(product: String, device id: String, _ groups: [String]) throws {
        let json = String(decoding: try JSONEncoder().encode(Array(Set(groups)).sorted()), as: UTF8.self)
        try queue.write { db in
            try Self.requireDevice(db, product: product, id)
            try db.execute(sql: "UPDATE device SET groups = ? WHERE id = ?", arguments: [json, id])
        }
    }

    public func groups(product: String) throws -> [DeviceGroup] {
        try queue.read { db in
            try Self.requireProduct(db, product)
            var counts: [String: Int] = [:]
            for json in try String.fetchAll(db, sql: "SELECT groups FROM device WHERE product = ?", arguments: [product]) {
                for name in (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? [] { counts[name, default: 0] += 1 }
            }
            return counts.keys.sorted().map { DeviceGroup(name: $0, deviceCount: counts[$0]) }
        }
    }

    public func device(product: String, _ id: String) throws -> DeviceFirmwareState {
        try queue.read { db in
            let row = try Self.requireDevice(db, product: product, id)
            let groups = (try? JSONDecoder().decode([String].self, from: Data((row["groups"] as String).utf8))) ?? []
            return DeviceFirmwareState(id: id, groups: groups, online: row["online"], firmwareVersion: row["firmwareVersion"],
                                       targetedFirmwareReleaseVersion: try Self.targetedVersion(db, product: product, groups: groups),
                                       firmwareUpdatesEnabled: row["updatesEnabled"], firmwareUpdatesForced: row["updatesForced"])
        }
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

    public func upload(product: String, version: Int, title: String, binary: [UInt8], sha256: String) throws -> ProductFirmware {
        try queue.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO product (slug) VALUES (?)", arguments: [product])
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM firmware WHERE product = ? AND version = ?", arguments: [product, version]) == nil else {
                throw LocalCloudError.conflict("product \(product) already has firmware version \(version)")
            }
            try db.execute(sql: "INSERT INTO firmware (product, version, title, sha256, binary, uploaded) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [product, version, title, sha256, Data(binary), Date().formatted(.iso8601)])
            return ProductFirmware(version: version, title: title, size: binary.count)
        }
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
            return release
        }
    }

    /// Keeps a binary for one device; it reaches the device at its next session.
    public func flashDevice(_ id: String, binary: [UInt8]) throws -> String {
        try queue.write { db in
            guard let product = try String.fetchOne(db, sql: "SELECT product FROM device WHERE id = ?", arguments: [id]) else {
                throw LocalCloudError.notFound("no device \(id)")
            }
            try db.execute(sql: "UPDATE device SET directFlash = ? WHERE id = ?", arguments: [Data(binary), id])
            return product
        }
    }

    public func hasProduct(_ product: String) throws -> Bool {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT 1 FROM product WHERE slug = ?", arguments: [product]) != nil }
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
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM device WHERE id = ? AND product = ?", arguments: [id, product]) else {
            throw LocalCloudError.notFound("product \(product) has no device \(id)")
        }
        return row
    }
}

/// A request the local cloud refuses, with the HTTP status it answers.
public enum LocalCloudError: Error, Hashable, Sendable {
    case badRequest(String)
    case unauthorized(String)
    case notFound(String)
    case conflict(String)
    case tooLarge(String)
    case unsupportedMediaType(String)

    var status: Int {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .notFound: 404
        case .conflict: 409
        case .tooLarge: 413
        case .unsupportedMediaType: 415
        }
    }

    var message: String {
        switch self {
        case .badRequest(let text), .unauthorized(let text), .notFound(let text), .conflict(let text), .tooLarge(let text),
             .unsupportedMediaType(let text): text
        }
    }
}
