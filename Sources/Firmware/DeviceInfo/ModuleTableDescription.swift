import Foundation

/// The module table a device describes in JSON: the `s` listening-mode command, the
/// `spark/status/safe-mode` event, binary-version-reader's describe fixtures (§9).
/// `{"p":13,"imei":…,"iccid":…,"cellfw":…,"m":[{"s":…,"l":"m","vc":30,"vv":30,"u":"…","f":"s","n":"1","v":5800,"d":[…]}]}`,
/// written in that order, compact, as Device OS's JSON writer does (system_info.cpp:321-402).
public struct ModuleTableDescription: Codable, Hashable, Sendable {
    public var platformID: Int
    /// A cellular board's modem (HAL_OTA_Add_System_Info): its IMEI, ICCID and, from 2.1.0,
    /// firmware; nil on other boards.
    public var imei: String?
    public var iccid: String?
    public var cellularFirmware: String?
    public var modules: [Module]

    public struct Module: Codable, Hashable, Sendable {
        /// The slot's maximum size.
        public var maximumSize: Int
        /// Store: "m" main, "f" factory, "b" backup, "t" scratchpad.
        public var store: String
        public var validityChecked: Int
        public var validityResult: Int
        /// SHA-256 hex (the firmware's unique id), when present.
        public var sha256: String?
        /// One-character function code (§3.2).
        public var function: String
        /// The index, as a string.
        public var index: String
        public var version: Int
        public var dependencies: [Dependency]

        public init(maximumSize: Int, store: String = "m", validityChecked: Int, validityResult: Int, sha256: String?,
                    function: String, index: String, version: Int, dependencies: [Dependency]) {
            self.maximumSize = maximumSize
            self.store = store
            self.validityChecked = validityChecked
            self.validityResult = validityResult
            self.sha256 = sha256
            self.function = function
            self.index = index
            self.version = version
            self.dependencies = dependencies
        }

        /// Valid when every check made passed.
        public var isValid: Bool { validityChecked == validityResult }

        enum CodingKeys: String, CodingKey {
            case maximumSize = "s", store = "l", validityChecked = "vc", validityResult = "vv", sha256 = "u"
            case function = "f", index = "n", version = "v", dependencies = "d"
        }
    }

    public struct Dependency: Codable, Hashable, Sendable {
        public var function: String
        public var index: String
        public var version: Int

        public init(function: String, index: String, version: Int) {
            self.function = function
            self.index = index
            self.version = version
        }

        enum CodingKeys: String, CodingKey {
            case function = "f", index = "n", version = "v"
        }
    }

    public init(platformID: Int, imei: String? = nil, iccid: String? = nil, cellularFirmware: String? = nil, modules: [Module]) {
        self.platformID = platformID
        self.imei = imei
        self.iccid = iccid
        self.cellularFirmware = cellularFirmware
        self.modules = modules
    }

    enum CodingKeys: String, CodingKey {
        case platformID = "p", imei, iccid, cellularFirmware = "cellfw", modules = "m"
    }

    /// Device OS validation flags (§4): which checks `vc` and `vv` count.
    public enum Check: Int, CaseIterable, Sendable {
        case integrity = 2
        case dependencies = 4
        case range = 8
        case platform = 16
    }

    /// The table as the compatibility rules take it; entries with an unknown function
    /// character are left out.
    public var installedModules: [InstalledModule] {
        func function(_ code: String) -> ModuleFunction? { ModuleFunction.allKnown.first { String($0.character) == code } }
        return modules.compactMap { module in
            guard let kind = function(module.function), let index = UInt8(module.index) else { return nil }
            return InstalledModule(function: kind, index: index, version: UInt16(clamping: module.version), dependencies: module.dependencies.compactMap {
                guard let kind = function($0.function), let index = UInt8($0.index) else { return nil }
                return ModuleDependency(function: kind, index: index, version: UInt16(clamping: $0.version))
            })
        }
    }

    /// The table as Device OS prints it: compact, its keys in its order (JSONEncoder's order is
    /// not fixed on Linux, so the object is written here and only strings go through it).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func text(_ value: String) -> String {
            return String(decoding: (try? encoder.encode(value)) ?? Data("\"\"".utf8), as: UTF8.self)
        }
        func object(_ fields: [(String, String?)]) -> String {
            "{" + fields.compactMap { key, value in value.map { "\"\(key)\":\($0)" } }.joined(separator: ",") + "}"
        }
        let modules = modules.map { module in
            object([("s", "\(module.maximumSize)"), ("l", text(module.store)), ("vc", "\(module.validityChecked)"),
                    ("vv", "\(module.validityResult)"), ("u", module.sha256.map(text)), ("f", text(module.function)),
                    ("n", text(module.index)), ("v", "\(module.version)"),
                    ("d", "[" + module.dependencies.map { object([("f", text($0.function)), ("n", text($0.index)), ("v", "\($0.version)")]) }
                        .joined(separator: ",") + "]")])
        }
        return object([("p", "\(platformID)"), ("imei", imei.map(text)), ("iccid", iccid.map(text)), ("cellfw", cellularFirmware.map(text)),
                       ("m", "[" + modules.joined(separator: ",") + "]")])
    }

    public static func parse(_ text: String) throws -> ModuleTableDescription {
        try JSONDecoder().decode(ModuleTableDescription.self, from: Data(text.utf8))
    }
}
