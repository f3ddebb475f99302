import Foundation

/// The module table a device describes in JSON: the `s` listening-mode command, the
/// `spark/status/safe-mode` event, binary-version-reader's describe fixtures (§9).
/// `{"p":13,"m":[{"s":…,"l":"m","vc":30,"vv":30,"u":"…","f":"s","n":"1","v":5800,"d":[…]}]}`
public struct ModuleTableDescription: Codable, Hashable, Sendable {
    public var platformID: Int
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

    public init(platformID: Int, modules: [Module]) {
        self.platformID = platformID
        self.modules = modules
    }

    enum CodingKeys: String, CodingKey {
        case platformID = "p", modules = "m"
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

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func parse(_ text: String) throws -> ModuleTableDescription {
        try JSONDecoder().decode(ModuleTableDescription.self, from: Data(text.utf8))
    }
}
