import Cloud
import Foundation
import GRDB

/// What the cloud does for a device at the start of its session, or when an immediate release
/// is pushed to it (`reference/particle-protocols.md` §8.3).
public enum UpdateDelivery: Hashable, Sendable {
    /// It runs what its release targets (or nothing targets it).
    case upToDate
    /// It has updates disabled and nothing forces them: the update waits, and the device is told
    /// it is pending (`particle/device/updates/pending` "true") the first time.
    case held(notifyPending: Bool)
    /// Send it this version now; `forced` when only the cloud's forced flag lets it through.
    case deliver(version: Int, forced: Bool)
}

extension LocalCloudStore {
    /// A device opens a session: it says what it runs and whether its application lets
    /// updates in. Gradual releases and firmware locks reach a device here, at its next session.
    public func sessionStarted(device id: String, firmwareVersion: Int?, updatesEnabled: Bool, platformID: Int? = nil) throws -> UpdateDelivery {
        try queue.write { db in
            let id = id.lowercased()
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM device WHERE id = ?", arguments: [id]) != nil else {
                throw LocalCloudError.notFound("no device \(id)")
            }
            let now = timestamp()
            try db.execute(sql: """
                UPDATE device SET online = 1, firmwareVersion = ?, updatesEnabled = ?, platformID = COALESCE(?, platformID), lastHeard = ?,
                    lastHandshake = ? WHERE id = ?
                """, arguments: [firmwareVersion, updatesEnabled, platformID, now, now, id])
            return try Self.delivery(db, device: id)
        }
    }

    public func sessionEnded(device id: String) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE device SET online = 0, lastHeard = ? WHERE id = ?", arguments: [timestamp(), id.lowercased()])
        }
    }

    /// The application called enable/disableUpdates during its session.
    public func updatesEnabledChanged(device id: String, enabled: Bool) throws -> UpdateDelivery {
        try queue.write { db in
            try db.execute(sql: "UPDATE device SET updatesEnabled = ? WHERE id = ?", arguments: [enabled, id])
            return try Self.delivery(db, device: id)
        }
    }

    /// The cloud forces updates on a device (or stops forcing them).
    public func setForced(product: String, device id: String, forced: Bool) throws {
        try queue.write { db in
            try Self.requireDevice(db, product: product, id)
            try db.execute(sql: "UPDATE device SET updatesForced = ? WHERE id = ?", arguments: [forced, id])
        }
    }

    /// The device runs `version` now (an update applied, or a fresh boot reporting it).
    public func firmwareApplied(device id: String, version: Int) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE device SET firmwareVersion = ?, pending = 0 WHERE id = ?", arguments: [version, id])
        }
    }

    /// Online devices an immediate release reaches now, with what each gets.
    public func immediateDeliveries(product: String, release: FirmwareRelease) throws -> [(device: String, delivery: UpdateDelivery)] {
        guard release.intelligent else { return [] }
        return try queue.write { db in
            var result: [(String, UpdateDelivery)] = []
            // A locked device follows its lock, not releases; a development device neither.
            for row in try Row.fetchAll(db, sql: """
                SELECT id, groups FROM device WHERE product = ? AND online = 1 AND desiredVersion IS NULL AND development = 0 ORDER BY id
                """, arguments: [product]) {
                let groups = (try? JSONDecoder().decode([String].self, from: Data((row["groups"] as String).utf8))) ?? []
                guard release.productDefault || !Set(groups).isDisjoint(with: release.groups) else { continue }
                let id: String = row["id"]
                result.append((id, try Self.delivery(db, device: id)))
            }
            return result
        }
    }

    /// The decision for a device now, after something about it changed (forced, a release).
    public func currentDelivery(device id: String) throws -> UpdateDelivery {
        try queue.write { db in try Self.delivery(db, device: id) }
    }

    /// The product a device belongs to, if the cloud knows it.
    public func product(ofDevice id: String) throws -> String? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT product FROM device WHERE id = ?", arguments: [id.lowercased()]) }
    }

    /// A binary flashed to this device alone (`PUT /v1/devices/ID`) that waits for it, taken
    /// for sending: it is tried once, as Particle's cloud does (an interrupted one is reported
    /// failed, not sent again at the next session).
    public func takeDirectFlash(device id: String) throws -> [UInt8]? {
        try queue.write { db in
            let binary = try Data.fetchOne(db, sql: "SELECT directFlash FROM device WHERE id = ?", arguments: [id]).map { [UInt8]($0) }
            if binary != nil { try db.execute(sql: "UPDATE device SET directFlash = NULL WHERE id = ?", arguments: [id]) }
            return binary
        }
    }

    /// Whether the cloud forces updates on this device.
    public func isForced(device id: String) throws -> Bool {
        try queue.read { db in try Bool.fetchOne(db, sql: "SELECT updatesForced FROM device WHERE id = ?", arguments: [id]) ?? false }
    }

    /// The firmware binary of a product version, for a transfer.
    public func binary(product: String, version: Int) throws -> [UInt8] {
        try queue.read { db in
            guard let data = try Data.fetchOne(db, sql: "SELECT binary FROM firmware WHERE product = ? AND version = ?", arguments: [product, version]) else {
                throw LocalCloudError.notFound("product \(product) has no firmware version \(version)")
            }
            return [UInt8](data)
        }
    }

    /// The decision for one device, recording a newly held update as pending. The target is
    /// the device's lock, else what its release targets; a development device has none.
    static func delivery(_ db: Database, device id: String) throws -> UpdateDelivery {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM device WHERE id = ?", arguments: [id]) else { return .upToDate }
        let product: String = row["product"]
        let development: Bool = row["development"]
        let desired: Int? = row["desiredVersion"]
        guard !development, let target = try desired ?? targetedVersion(db, product: product, groups: decodeGroups(row["groups"])),
              target != row["firmwareVersion"] as Int?
        else {
            try db.execute(sql: "UPDATE device SET pending = 0 WHERE id = ?", arguments: [id])
            return .upToDate
        }
        let enabled: Bool = row["updatesEnabled"], forced: Bool = row["updatesForced"]
        if enabled || forced { return .deliver(version: target, forced: !enabled) }
        let wasPending: Bool = row["pending"]
        try db.execute(sql: "UPDATE device SET pending = 1 WHERE id = ?", arguments: [id])
        return .held(notifyPending: !wasPending)
    }
}
