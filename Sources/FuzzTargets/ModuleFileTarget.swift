import Firmware

/// `module-file`: the bytes are a firmware file, read by `ModuleFile(bytes:)` as `inspect`,
/// `flash`, the compatibility guard and the local cloud read one. Checked: a refusal describes
/// these bytes; the modules lie back to back; each prefix, prefix extension list (unless a
/// name in it is not UTF-8) and compressed header re-encodes to the bytes it was read from; a
/// suffix read on its own (`ModuleSuffix.read(fromEndOf:)`, what a device does at a slot's end)
/// is the one the file reader found. The Deflate body of a compressed module is inflated as the
/// bootloader does, and every module goes through the compatibility rules of its platform.
enum ModuleFileTarget {
    /// Compressed bodies claiming more than this are not inflated (the fuzzer's inputs are a few KiB).
    static let inflateLimit = 1 << 20

    static func run(_ bytes: [UInt8]) {
        let file: ModuleFile
        do throws(ModuleReadError) {
            file = try ModuleFile(bytes: bytes)
        } catch {
            check(error, bytes)
            return
        }
        precondition(!file.modules.isEmpty, "ModuleFile read no module and threw nothing")
        precondition(file.bytes == bytes, "ModuleFile keeps other bytes than it was given")
        let installed = file.modules.map { InstalledModule($0) }
        var next = 0
        for module in file.modules {
            precondition(module.offset == next, "a module starts at \(module.offset), the one before it ended at \(next)")
            precondition(module.length > 0 && module.offset + module.length <= bytes.count,
                         "a module spans \(module.offset)+\(module.length) of \(bytes.count) bytes")
            next = module.offset + module.length
            checkPrefix(module, bytes)
            let extensionsExact = checkPrefixExtensions(module, bytes)
            checkSuffix(module, bytes)
            if extensionsExact { inflate(module, bytes) }
            if let platform = module.platform {
                for policy in [Compatibility.DependencyPolicy.strict, .userPartDependenciesOptional] {
                    let verdict = Compatibility.check(module, on: platform, installed: installed, policy: policy)
                    _ = verdict.problems.map(\.description)
                }
            }
            _ = module.findings.map(\.description)
            _ = module.dependencies
            _ = module.product
        }
        _ = file.allFindings.map(\.description)
    }

    /// A refusal is about these bytes.
    static func check(_ error: ModuleReadError, _ bytes: [UInt8]) {
        _ = error.description
        switch error {
        case .empty:
            precondition(bytes.isEmpty, "ModuleFile called \(bytes.count) bytes empty")
        case .tooLarge(let length, let limit):
            precondition(length == bytes.count && length > limit, "ModuleFile called \(bytes.count) bytes too large")
        case .noModulePrefix(let length):
            precondition(length == bytes.count, "ModuleFile's refusal names \(length) bytes, it was given \(bytes.count)")
        case .truncated(let length, let expected, let prefixOffset):
            precondition(length == bytes.count && expected > length && prefixOffset >= 0 && prefixOffset < length,
                         "ModuleFile says \(bytes.count) bytes are cut short of \(expected) (prefix at \(prefixOffset))")
        case .unknownModuleFunction(let length, let prefixOffset, _, _):
            precondition(length == bytes.count && prefixOffset >= 0 && prefixOffset + ModulePrefix.size <= length,
                         "ModuleFile names a prefix at \(prefixOffset) outside \(bytes.count) bytes")
        case .unreadable:
            preconditionFailure("ModuleFile(bytes:) reported an unreadable file")
        }
    }

    static func checkPrefix(_ module: FirmwareModule, _ bytes: [UInt8]) {
        let start = module.offset + module.prefixOffset
        precondition(start >= 0 && start + ModulePrefix.size <= bytes.count, "the prefix at \(start) is outside the file")
        precondition(module.prefix.encoded == Array(bytes[start..<(start + ModulePrefix.size)]),
                     "the prefix at \(start) does not re-encode to its bytes")
    }

    /// Whether the prefix extensions re-encode to the bytes they were read from. They must,
    /// unless one holds text that is not UTF-8 (which reads as replacement characters).
    static func checkPrefixExtensions(_ module: FirmwareModule, _ bytes: [UInt8]) -> Bool {
        let start = module.offset + module.prefixOffset + ModulePrefix.size
        let encoded = module.prefixExtensions.flatMap(\.encoded)
        let exact = start + encoded.count <= bytes.count && bytes[start..<(start + encoded.count)].elementsEqual(encoded)
        precondition(exact || module.prefixExtensions.contains(where: holdsText),
                     "the prefix extensions at \(start) do not re-encode to their bytes: \(module.prefixExtensions)")
        return exact
    }

    static func holdsText(_ item: ModuleExtension) -> Bool {
        switch item {
        case .name, .assetDependency: true
        default: false
        }
    }

    /// Where the suffix sits depends only on the module's last bytes: read alone, as a device
    /// reads a slot backwards from its end, it is the same.
    static func checkSuffix(_ module: FirmwareModule, _ bytes: [UInt8]) {
        guard let suffix = module.suffix, !module.findings.contains(where: { $0.kind == .suffixInvalid }) else { return }
        let data = Array(bytes[module.offset..<(module.offset + module.length)])
        let alone = ModuleSuffix.read(fromEndOf: data)
        precondition(alone == suffix, "the suffix read alone (\(String(describing: alone))) is not the one in the file (\(suffix))")
    }

    /// The compressed header re-encodes to its bytes; the body inflates as the bootloader
    /// inflates it, to the size the header gives, or is refused.
    static func inflate(_ module: FirmwareModule, _ bytes: [UInt8]) {
        guard module.flags.contains(.compressed), let header = module.compressedHeader else { return }
        let headerAt = module.offset + module.prefixOffset + ModulePrefix.size + module.prefixExtensions.reduce(0) { $0 + $1.encodedLength }
        precondition(CompressedModuleHeader(bytes, at: headerAt) == header, "the compressed header is not at \(headerAt)")
        precondition(CompressedModuleHeader(header.encoded, at: 0) == header, "the compressed header does not re-encode")
        guard let suffix = module.suffix, header.method == CompressedModuleHeader.rawDeflate,
              (8...15).contains(header.effectiveWindowBits), Int(header.originalSize) <= inflateLimit
        else { return }
        let start = headerAt + Int(header.headerSize)
        let end = module.offset + module.length - 4 - Int(suffix.size)
        guard start <= end else { return }
        if let inflated = try? RawDeflate.decompress(bytes[start..<end], expectedSize: Int(header.originalSize),
                                                    windowBits: header.effectiveWindowBits) {
            precondition(inflated.count == Int(header.originalSize), "inflated to \(inflated.count) bytes, the header says \(header.originalSize)")
        }
    }
}
