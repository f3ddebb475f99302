import Cloud
import Firmware
import Foundation

/// A device as the local cloud answers it, the same object on every route (`GET /v1/devices`,
/// `GET /v1/devices/:id`, the product's device list, a device's PUT answers), in the fields of
/// Particle's examples. Every key is present, null when unknown: pyparticleio indexes
/// `functions` and `variables`, spyrk reads `connected` and turns every key into a namedtuple
/// field (so no key starts with `_`, holds `-` or is a Python keyword).
public struct DeviceRecord: Encodable, Hashable, Sendable {
    public var id: String
    /// The name given, else `otabench_<id>`: unique and identifier-like, because pyparticleio
    /// and spyrk key devices by name (`cloud.<name>`).
    public var name: String
    public var owner: String?
    public var lastHeard: String?
    public var lastHandshakeAt: String?
    public var product: String
    public var productID: Int
    public var online: Bool
    public var platformID: Int?
    public var notes: String?
    public var groups: [String]
    public var firmwareVersion: Int?
    public var desiredFirmwareVersion: Int?
    /// What the device's releases target (group, else product default); a lock is apart.
    public var targetedFirmwareReleaseVersion: Int?
    public var firmwareUpdatesEnabled: Bool
    public var firmwareUpdatesForced: Bool
    public var development: Bool
    /// Set on the answers to a change.
    public var updatedAt: String?

    /// Whether the device's platform has a cellular modem (`Platform.cellular`, the one list).
    public var cellular: Bool { platformID.flatMap { UInt16(exactly: $0) }.flatMap { Platform(id: PlatformID(rawValue: $0)) }?.cellular ?? false }

    enum CodingKeys: String, CodingKey {
        case id, name, owner, online, connected, cellular, status, notes, functions, variables, groups, development, quarantined, denied
        case lastIPAddress = "last_ip_address"
        case lastHeard = "last_heard"
        case lastHandshakeAt = "last_handshake_at"
        case productID = "product_id"
        case firmwareProductID = "firmware_product_id"
        case platformID = "platform_id"
        case systemFirmwareVersion = "system_firmware_version"
        case firmwareVersion = "firmware_version"
        case desiredFirmwareVersion = "desired_firmware_version"
        case targetedFirmwareReleaseVersion = "targeted_firmware_release_version"
        case firmwareUpdatesEnabled = "firmware_updates_enabled"
        case firmwareUpdatesForced = "firmware_updates_forced"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // Optionals are written as null, not left out: clients read these keys unconditionally.
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(owner, forKey: .owner)
        try container.encode(String?.none, forKey: .lastIPAddress)
        try container.encode(lastHeard, forKey: .lastHeard)
        try container.encode(lastHandshakeAt, forKey: .lastHandshakeAt)
        try container.encode(productID, forKey: .productID)
        try container.encode(productID, forKey: .firmwareProductID)
        try container.encode(online, forKey: .online)
        try container.encode(online, forKey: .connected)
        try container.encode(platformID, forKey: .platformID)
        try container.encode(cellular, forKey: .cellular)
        try container.encode("normal", forKey: .status)
        try container.encode(notes, forKey: .notes)
        try container.encode(String?.none, forKey: .systemFirmwareVersion)
        try container.encode([String](), forKey: .functions)
        try container.encode([String: String](), forKey: .variables)
        try container.encode(groups, forKey: .groups)
        try container.encode(firmwareVersion, forKey: .firmwareVersion)
        try container.encode(desiredFirmwareVersion, forKey: .desiredFirmwareVersion)
        try container.encode(targetedFirmwareReleaseVersion, forKey: .targetedFirmwareReleaseVersion)
        try container.encode(firmwareUpdatesEnabled, forKey: .firmwareUpdatesEnabled)
        try container.encode(firmwareUpdatesForced, forKey: .firmwareUpdatesForced)
        try container.encode(development, forKey: .development)
        try container.encode(false, forKey: .quarantined)
        try container.encode(false, forKey: .denied)
        try container.encodeIfPresent(updatedAt, forKey: .updatedAt)
    }
}

/// A product firmware version as the local cloud answers it, in the fields of Particle's
/// examples (`current` is the older name of `product_default`; both are given).
public struct FirmwareRecord: Encodable, Hashable, Sendable {
    public var version: Int
    public var title: String
    public var description: String
    public var fileName: String
    public var size: Int
    public var productDefault: Bool
    public var uploadedOn: String
    public var productID: Int
    /// The groups whose release is this version.
    public var groups: [String]
    /// Devices that run it now.
    public var deviceCount: Int

    enum CodingKeys: String, CodingKey {
        case version, title, description, size, current, groups
        case fileName = "name"
        case productDefault = "product_default"
        case uploadedOn = "uploaded_on"
        case productID = "product_id"
        case uploadedBy = "uploaded_by"
        case deviceCount = "device_count"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(title, forKey: .title)
        try container.encode(description, forKey: .description)
        try container.encode(fileName, forKey: .fileName)
        try container.encode(size, forKey: .size)
        try container.encode(productDefault, forKey: .productDefault)
        try container.encode(productDefault, forKey: .current)
        try container.encode(uploadedOn, forKey: .uploadedOn)
        try container.encode(productID, forKey: .productID)
        try container.encode(["username": LocalCloudAccount.username], forKey: .uploadedBy)
        try container.encode(groups, forKey: .groups)
        try container.encode(deviceCount, forKey: .deviceCount)
    }
}

/// The answer to a release: the release itself and the firmware it releases.
struct ReleaseRecord: Encodable {
    var release: FirmwareRelease
    var firmware: FirmwareRecord
    var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case version, title, description, size, groups, intelligent
        case productDefault = "product_default"
        case uploadedOn = "uploaded_on"
        case productID = "product_id"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(release.version, forKey: .version)
        try container.encode(firmware.title, forKey: .title)
        try container.encode(firmware.description, forKey: .description)
        try container.encode(firmware.size, forKey: .size)
        try container.encode(release.productDefault, forKey: .productDefault)
        try container.encode(release.groups, forKey: .groups)
        try container.encode(release.intelligent, forKey: .intelligent)
        try container.encode(firmware.uploadedOn, forKey: .uploadedOn)
        try container.encode(firmware.productID, forKey: .productID)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A product as `GET /v1/products` lists it.
public struct ProductRecord: Encodable, Hashable, Sendable {
    public var id: Int
    public var slug: String
    public var deviceCount: Int

    enum CodingKeys: String, CodingKey {
        case id, slug, name, description
        case platformID = "platform_id"
        case deviceCount = "device_count"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(slug, forKey: .slug)
        try container.encode(slug, forKey: .name)
        try container.encode("", forKey: .description)
        // The local cloud's products hold any platform.
        try container.encode(Int?.none, forKey: .platformID)
        try container.encode(deviceCount, forKey: .deviceCount)
    }
}

/// The one account the local cloud has: whoever holds its token.
enum LocalCloudAccount {
    static let username = "otabench@localhost"
}
