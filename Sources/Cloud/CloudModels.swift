import Foundation

/// The JSON bodies of the part of Particle's cloud API the bench uses, in the API's own field
/// names. Unknown fields are ignored, so the real API's fuller answers decode too.
public struct ProductFirmware: Codable, Hashable, Sendable {
    public var version: Int
    public var title: String
    public var size: Int
    public var productDefault: Bool?
    public var groups: [String]?
    public var description: String?
    /// ISO 8601, as the API writes it.
    public var uploadedOn: String?
    /// The product's numeric id (the API's paths take it or the slug).
    public var productID: Int?

    enum CodingKeys: String, CodingKey {
        case version, title, size, groups, description
        case productDefault = "product_default"
        case uploadedOn = "uploaded_on"
        case productID = "product_id"
    }

    public init(version: Int, title: String, size: Int, productDefault: Bool? = nil, groups: [String]? = nil, description: String? = nil,
                uploadedOn: String? = nil, productID: Int? = nil) {
        self.version = version
        self.title = title
        self.size = size
        self.productDefault = productDefault
        self.groups = groups
        self.description = description
        self.uploadedOn = uploadedOn
        self.productID = productID
    }
}

/// `PUT /v1/products/{product}/firmware/release`.
public struct FirmwareRelease: Codable, Hashable, Sendable {
    public var version: Int
    /// Every device of the product without a group release gets it.
    public var productDefault: Bool
    /// Devices in these groups get it.
    public var groups: [String]
    /// Intelligent (immediate): pushed now to online devices, past their update settings'
    /// pending state; otherwise delivered at each device's next session.
    public var intelligent: Bool

    enum CodingKeys: String, CodingKey {
        case version, groups, intelligent
        case productDefault = "product_default"
    }

    public init(version: Int, productDefault: Bool = false, groups: [String] = [], intelligent: Bool = false) {
        self.version = version
        self.productDefault = productDefault
        self.groups = groups
        self.intelligent = intelligent
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        productDefault = try container.decodeIfPresent(Bool.self, forKey: .productDefault) ?? false
        groups = try container.decodeIfPresent([String].self, forKey: .groups) ?? []
        intelligent = try container.decodeIfPresent(Bool.self, forKey: .intelligent) ?? false
    }
}

public struct DeviceGroup: Codable, Hashable, Sendable {
    public var name: String
    public var deviceCount: Int?

    enum CodingKeys: String, CodingKey {
        case name
        case deviceCount = "device_count"
    }

    public init(name: String, deviceCount: Int? = nil) {
        self.name = name
        self.deviceCount = deviceCount
    }
}

/// A product device's firmware state, as `GET /v1/products/{product}/devices/{id}` gives it
/// (the API's answer holds more: name, platform, last heard; only these are read).
public struct DeviceFirmwareState: Codable, Hashable, Sendable {
    public var id: String
    public var groups: [String]
    public var online: Bool
    /// The product firmware version it runs.
    public var firmwareVersion: Int?
    /// The version its release (or a direct flash) targets.
    public var targetedFirmwareReleaseVersion: Int?
    public var firmwareUpdatesEnabled: Bool
    public var firmwareUpdatesForced: Bool
    /// The version the device is locked to (`desired_firmware_version`); it wins over releases.
    public var desiredFirmwareVersion: Int?
    /// A development device takes no automatic product firmware, locked or released.
    public var development: Bool?
    public var name: String?
    public var platformID: Int?

    enum CodingKeys: String, CodingKey {
        case id, groups, online, development, name
        case firmwareVersion = "firmware_version"
        case targetedFirmwareReleaseVersion = "targeted_firmware_release_version"
        case firmwareUpdatesEnabled = "firmware_updates_enabled"
        case firmwareUpdatesForced = "firmware_updates_forced"
        case desiredFirmwareVersion = "desired_firmware_version"
        case platformID = "platform_id"
    }

    public init(id: String, groups: [String], online: Bool, firmwareVersion: Int?, targetedFirmwareReleaseVersion: Int?,
                firmwareUpdatesEnabled: Bool, firmwareUpdatesForced: Bool, desiredFirmwareVersion: Int? = nil, development: Bool? = nil,
                name: String? = nil, platformID: Int? = nil) {
        self.id = id
        self.groups = groups
        self.online = online
        self.firmwareVersion = firmwareVersion
        self.targetedFirmwareReleaseVersion = targetedFirmwareReleaseVersion
        self.firmwareUpdatesEnabled = firmwareUpdatesEnabled
        self.firmwareUpdatesForced = firmwareUpdatesForced
        self.desiredFirmwareVersion = desiredFirmwareVersion
        self.development = development
        self.name = name
        self.platformID = platformID
    }
}

/// One event of the event stream: `spark/flash/status`, `spark/status`,
/// `spark/device/updates/*`, or an app's own. On the stream the name is the message's `event:`
/// line and the data JSON holds the rest (Particle's data has no name); this type's own JSON
/// holds all of it.
public struct CloudEvent: Codable, Hashable, Sendable {
    public var name: String
    public var data: String
    public var coreid: String
    public var publishedAt: String
    /// Seconds the event is meant to live; Particle sends 60 for nearly everything.
    public var ttl: Int

    enum CodingKeys: String, CodingKey {
        case name, data, coreid, ttl
        case publishedAt = "published_at"
    }

    public init(name: String, data: String, coreid: String, publishedAt: String, ttl: Int = 60) {
        self.name = name
        self.data = data
        self.coreid = coreid
        self.publishedAt = publishedAt
        self.ttl = ttl
    }

    /// Leniently, as clouds write it: a null or missing data is empty, a missing name or coreid
    /// empty (the stream supplies the name), the ttl a number or a numeric string
    /// (Particle's older streams send "60").
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        data = try container.decodeIfPresent(String.self, forKey: .data) ?? ""
        coreid = try container.decodeIfPresent(String.self, forKey: .coreid) ?? ""
        publishedAt = try container.decodeIfPresent(String.self, forKey: .publishedAt) ?? ""
        if let number = try? container.decodeIfPresent(Int.self, forKey: .ttl) {
            ttl = number
        } else if let text = try? container.decodeIfPresent(String.self, forKey: .ttl), let number = Int(text) {
            ttl = number
        } else {
            ttl = 60
        }
    }
}

/// What the API answers on failure: `{"ok": false, "error": "…", "error_description": "…"}`.
struct APIErrorBody: Codable {
    var ok: Bool?
    var error: String?
    var errorDescription: String?
    var info: String?

    enum CodingKeys: String, CodingKey {
        case ok, error, info
        case errorDescription = "error_description"
    }
}
