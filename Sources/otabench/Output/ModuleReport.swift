import Firmware

/// What `inspect` says about one file, for people and as JSON. Every key is always present
/// (null when the file holds no module), so scripts can rely on the shape.
struct ModuleReport: Encodable {
    struct Dependency: Encodable {
        var function: String
        var index: Int
        var version: Int
    }

    /// One module's fields; a file's first module is also flattened into the top level.
    struct Module: Encodable {
        var platformId: Int
        var platform: String?
        var function: String
        var index: Int
        var version: Int
        var offset: Int
        var length: Int
        var prefixOffset: Int
        var startAddress: Int
        var endAddress: Int
        var flags: Int
        var flagNames: [String]
        var mcuTarget: Int
        var crcOk: Bool
        var storedCrc: String?
        var computedCrc: String?
        var sha256: String?
        var sha256Ok: Bool
        var suffixSize: Int?
        var productId: Int?
        var productVersion: Int?
        var dependencies: [Dependency]
        var prefixExtensions: [String]
        var suffixExtensions: [String]
        var compressed: Compressed?
        var valid: Bool
        var problems: [String]
        var warnings: [String]

        struct Compressed: Encodable {
            var method: Int
            var windowBits: Int
            var originalSize: Int
        }

        init(_ module: FirmwareModule) {
            platformId = Int(module.platformID.rawValue)
            platform = module.platformID.name
            function = module.function.name
            index = Int(module.index)
            version = Int(module.version)
            offset = module.offset
            length = module.length
            prefixOffset = module.prefixOffset
            startAddress = Int(module.startAddress)
            endAddress = Int(module.endAddress)
            flags = Int(module.flags.rawValue)
            flagNames = module.flags.names
            mcuTarget = Int(module.prefix.reserved)
            crcOk = module.crcOK
            storedCrc = module.storedCRC.map { crcHex($0) }
            computedCrc = module.computedCRC.map { crcHex($0) }
            sha256 = module.suffix?.sha256.hexString
            sha256Ok = module.sha256OK
            suffixSize = module.suffix.map { Int($0.size) }
            productId = module.product.map { Int($0.id) }
            productVersion = module.product.map { Int($0.version) }
            dependencies = module.dependencies.map {
                Dependency(function: $0.function.name, index: Int($0.index), version: Int($0.version))
            }
            prefixExtensions = module.prefixExtensions.map(\.description)
            suffixExtensions = module.suffix?.extensions.map(\.description) ?? []
            compressed = module.compressedHeader.map {
                Compressed(method: Int($0.method), windowBits: $0.effectiveWindowBits, originalSize: Int($0.originalSize))
            }
            valid = module.isValid
            problems = module.findings.filter(\.isError).map(\.message)
            warnings = module.findings.filter { !$0.isError }.map(\.message)
        }
    }

    var file: String
    var fileLength: Int?
    var valid: Bool
    var first: Module?
    var modules: [Module]
    var problems: [String]
    var warnings: [String]

    init(file: String, moduleFile: ModuleFile) {
        self.file = file
        fileLength = moduleFile.bytes.count
        valid = moduleFile.isValid
        modules = moduleFile.modules.map(Module.init)
        first = modules.first
        problems = moduleFile.allFindings.filter(\.isError).map(\.message)
        warnings = moduleFile.allFindings.filter { !$0.isError }.map(\.message)
        if moduleFile.modules.count > 1 {
            // Name which module each problem belongs to.
            problems = moduleFile.modules.enumerated().flatMap { position, module in
                module.findings.filter(\.isError).map { "module \(position + 1): \($0.message)" }
            } + moduleFile.findings.filter(\.isError).map(\.message)
        }
    }

    init(file: String, error: ModuleReadError) {
        self.file = file
        switch error {
        case .empty: fileLength = 0
        case .noModulePrefix(let length), .unknownModuleFunction(let length, _, _, _), .truncated(let length, _, _):
            fileLength = length
        case .unreadable, .tooLarge: break
        }
        valid = false
        first = nil
        modules = []
        problems = [error.description]
        warnings = []
    }

    private enum Key: String, CodingKey {
        case file, fileLength, valid, platformId, platform, function, index, version, prefixOffset, startAddress,
             endAddress, flags, flagNames, mcuTarget, crcOk, storedCrc, computedCrc, sha256, sha256Ok, suffixSize,
             productId, productVersion, dependencies, prefixExtensions, suffixExtensions, compressed, modules,
             problems, warnings
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(file, forKey: .file)
        try container.encode(fileLength, forKey: .fileLength)
        try container.encode(valid, forKey: .valid)
        try container.encode(first?.platformId, forKey: .platformId)
        try container.encode(first?.platform, forKey: .platform)
        try container.encode(first?.function, forKey: .function)
        try container.encode(first?.index, forKey: .index)
        try container.encode(first?.version, forKey: .version)
        try container.encode(first?.prefixOffset, forKey: .prefixOffset)
        try container.encode(first?.startAddress, forKey: .startAddress)
        try container.encode(first?.endAddress, forKey: .endAddress)
        try container.encode(first?.flags, forKey: .flags)
        try container.encode(first?.flagNames, forKey: .flagNames)
        try container.encode(first?.mcuTarget, forKey: .mcuTarget)
        try container.encode(first?.crcOk ?? false, forKey: .crcOk)
        try container.encode(first?.storedCrc, forKey: .storedCrc)
        try container.encode(first?.computedCrc, forKey: .computedCrc)
        try container.encode(first?.sha256, forKey: .sha256)
        try container.encode(first?.sha256Ok ?? false, forKey: .sha256Ok)
        try container.encode(first?.suffixSize, forKey: .suffixSize)
        try container.encode(first?.productId, forKey: .productId)
        try container.encode(first?.productVersion, forKey: .productVersion)
        try container.encode(first?.dependencies ?? [], forKey: .dependencies)
        try container.encode(first?.prefixExtensions ?? [], forKey: .prefixExtensions)
        try container.encode(first?.suffixExtensions ?? [], forKey: .suffixExtensions)
        try container.encode(first?.compressed, forKey: .compressed)
        try container.encode(modules, forKey: .modules)
        try container.encode(problems, forKey: .problems)
        try container.encode(warnings, forKey: .warnings)
    }

    var humanSummary: String {
        var lines = [file]
        func row(_ label: String, _ value: String) {
            lines.append("  " + label.padding(toLength: 14, withPad: " ", startingAt: 0) + value)
        }
        for (position, module) in modules.enumerated() {
            if modules.count > 1 { lines.append("  module \(position + 1) of \(modules.count), at offset \(hex(module.offset))") }
            row("Platform", module.platform.map { "\($0) (\(module.platformId))" } ?? "unknown (\(module.platformId))")
            row("Module", "\(module.function) \(module.index), version \(module.version)")
            row("Addresses", "\(hex(module.startAddress)) – \(hex(module.endAddress)), prefix at \(hex(module.prefixOffset))")
            row("Size", "\(module.length) bytes in the file")
            row("Flags", module.flagNames.isEmpty ? "none" : module.flagNames.joined(separator: ", "))
            row("CRC-32", module.crcOk ? "ok (\(module.storedCrc ?? ""))"
                : "FAILED (stored \(module.storedCrc ?? "none"), computed \(module.computedCrc ?? "none"))")
            row("SHA-256", (module.sha256 ?? "none") + (module.sha256Ok ? " (ok)" : " (does not match)"))
            row("Suffix", module.suffixSize.map { "\($0) bytes" } ?? "none")
            if let id = module.productId, let version = module.productVersion {
                row("Product", "id \(id), version \(version)")
            }
            row("Dependencies", module.dependencies.isEmpty ? "none"
                : module.dependencies.map { "\($0.function) \($0.index) v\($0.version)" }.joined(separator: ", "))
            for item in module.prefixExtensions { row("Prefix ext.", item) }
            for item in module.suffixExtensions { row("Suffix ext.", item) }
            if let compressed = module.compressed {
                row("Compressed", "raw Deflate, window \(compressed.windowBits) bits, \(compressed.originalSize) bytes inflated")
            }
        }
        row("Verdict", valid ? "valid" : "INVALID")
        for problem in problems { row("", problem) }
        for warning in warnings { row("", "warning: \(warning)") }
        return lines.joined(separator: "\n")
    }
}

private func crcHex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}
