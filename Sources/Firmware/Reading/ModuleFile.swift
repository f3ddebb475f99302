import Foundation

/// A firmware file: one module, or several back to back when each but the last carries
/// the COMBINED flag (§3.3, §5.2 step 3).
public struct ModuleFile: Sendable {
    /// No Particle module comes near this; anything larger is refused before it is read.
    public static let maximumLength = 32 << 20
    /// Device OS handles at most two combined modules (MAX_COMBINED_MODULE_COUNT).
    public static let maximumCombinedModules = 2
    /// Where the reader stops following COMBINED flags.
    static let combinedReadLimit = 16

    public let bytes: [UInt8]
    public let modules: [FirmwareModule]
    /// Problems of the file as a whole, such as a COMBINED flag with nothing after it.
    public let findings: [Finding]

    public var isValid: Bool { !findings.contains(where: \.isError) && modules.allSatisfy(\.isValid) }
    public var allFindings: [Finding] { modules.flatMap(\.findings) + findings }

    public func bytes(of module: FirmwareModule) -> ArraySlice<UInt8> {
        bytes[module.offset..<(module.offset + module.length)]
    }

    public init(contentsOf path: String) throws(ModuleReadError) {
        // Through the descriptor that is read, so what is checked is what is read: a device, a
        // FIFO or a terminal is refused before a read that would never end or never stop.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw .unreadable(path: path, reason: Self.reason(errno: errno)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .unreadable(path: path, reason: Self.reason(errno: errno)) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .unreadable(path: path, reason: "it is a directory, not a module file")
        case S_IFCHR: throw .unreadable(path: path, reason: "it is a character device, not a module file")
        case S_IFBLK: throw .unreadable(path: path, reason: "it is a block device, not a module file")
        case S_IFIFO: throw .unreadable(path: path, reason: "it is a pipe (FIFO), not a module file; save the module to a file first")
        case S_IFSOCK: throw .unreadable(path: path, reason: "it is a socket, not a module file")
        default: throw .unreadable(path: path, reason: "it is not a regular file")
        }
        let size = Int(info.st_size)
        if size > Self.maximumLength { throw .tooLarge(length: size, limit: Self.maximumLength) }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBufferPointer { read(descriptor, $0.baseAddress! + filled, size - filled) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .unreadable(path: path, reason: Self.reason(errno: errno)) }
            if count == 0 { break }
            filled += count
        }
        try self.init(bytes: Array(bytes.prefix(filled)))
    }

    public init(bytes: [UInt8]) throws(ModuleReadError) {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= Self.maximumLength else { throw .tooLarge(length: bytes.count, limit: Self.maximumLength) }
        var modules: [FirmwareModule] = []
        var findings: [Finding] = []
        var base = 0
        while true {
            guard let prefixOffset = PrefixLocator.locate(in: bytes, base: base, available: bytes.count - base) else {
                if modules.isEmpty {
                    if let cut = PrefixLocator.truncatedModule(in: bytes) {
                        throw .truncated(length: bytes.count, expected: cut.expected, prefixOffset: cut.offset)
                    }
                    if let found = PrefixLocator.unknownFunction(in: bytes) {
                        throw .unknownModuleFunction(length: bytes.count, prefixOffset: found.offset,
                                                     platformID: found.platformID, function: found.function)
                    }
                    throw .noModulePrefix(length: bytes.count)
                }
                findings.append(Finding(.error, .combinedModuleMissing,
                    "module \(modules.count) has the COMBINED flag, but no module follows it at offset \(hex(base))"))
                break
            }
            let module = Self.readModule(bytes, base: base, prefixOffset: prefixOffset)
            modules.append(module)
            base = module.offset + module.length
            guard module.flags.contains(.combined), base < bytes.count else {
                if module.flags.contains(.combined) {
                    findings.append(Finding(.error, .combinedModuleMissing,
                        "the last module has the COMBINED flag, but the file ends after it"))
                }
                break
            }
            if modules.count == Self.combinedReadLimit {
                findings.append(Finding(.error, .tooManyCombinedModules,
                    "more than \(Self.combinedReadLimit) combined modules; the rest was not read"))
                break
            }
        }
        if modules.count > Self.maximumCombinedModules {
            findings.append(Finding(.warning, .tooManyCombinedModules,
                "\(modules.count) combined modules; Device OS applies at most \(Self.maximumCombinedModules)"))
        }
        self.bytes = bytes
        self.modules = modules
        self.findings = findings
    }

    static func readModule(_ bytes: [UInt8], base: Int, prefixOffset: Int) -> FirmwareModule {
        let prefix = ModulePrefix(bytes, at: base + prefixOffset)!  // the locator checked 24 bytes fit
        var findings: [Finding] = []
        let declaredSize = prefix.moduleSize ?? 0  // the locator checked end > start

        // A combined module spans exactly its declared size; the last one runs to the end of the file.
        var end = bytes.count
        if prefix.flags.contains(.combined), base + declaredSize < bytes.count {
            end = base + declaredSize
        }
        let length = end - base
        if length != declaredSize {
            findings.append(Finding(.error, .lengthMismatch,
                "the module is \(length) bytes but its prefix spans \(declaredSize) (end − start + 4)"))
        }

        if !prefix.platformID.isKnown {
            findings.append(Finding(.warning, .unknownPlatform, "unknown platform id \(prefix.platformID.rawValue)"))
        }
        if prefix.flags.unknownBits != 0 {
            findings.append(Finding(.warning, .unknownFlags, "unknown flag bits \(hex(prefix.flags.unknownBits))"))
        }
        // Device OS refuses these with a vector table in front (validateModules, §3.3).
        if prefixOffset > 0, !prefix.flags.isDisjoint(with: [.dropModuleInfo, .compressed]) {
            findings.append(Finding(.error, .formatInvalid,
                "DROP_MODULE_INFO or COMPRESSED is set but the prefix is at \(hex(prefixOffset)), not 0"))
        }

        let suffixBase = end - 4 - ModuleSuffix.baseSize  // where the reserved u16 sits
        var position = base + prefixOffset + ModulePrefix.size
        var prefixExtensions: [ModuleExtension] = []
        if prefix.flags.contains(.prefixExtensions) {
            let list = ModuleExtension.readList(bytes, from: position, limit: max(position, suffixBase))
            prefixExtensions = list.extensions
            position = list.next
            switch list.end {
            case .endMarker: break
            case .regionEnd:
                findings.append(Finding(.error, .prefixExtensionsMalformed, "prefix extensions do not end with an END extension"))
            case .malformed(let offset, let reason):
                findings.append(Finding(.error, .prefixExtensionsMalformed, "prefix extension at \(hex(offset - base)): \(reason)"))
            }
        }

        var compressedHeader: CompressedModuleHeader?
        if prefix.flags.contains(.compressed) {
            compressedHeader = CompressedModuleHeader(bytes, at: position)
            if let header = compressedHeader {
                if header.method != CompressedModuleHeader.rawDeflate {
                    findings.append(Finding(.error, .compressedHeaderInvalid, "unknown compression method \(header.method)"))
                }
                if header.windowBits != 0 && !(8...15).contains(header.windowBits) {
                    findings.append(Finding(.error, .compressedHeaderInvalid, "Deflate window bits \(header.windowBits) outside 8…15"))
                }
                if Int(header.headerSize) < CompressedModuleHeader.size || position + Int(header.headerSize) > suffixBase {
                    findings.append(Finding(.error, .compressedHeaderInvalid, "compressed header size \(header.headerSize) does not fit the module"))
                }
            } else {
                findings.append(Finding(.error, .compressedHeaderInvalid, "COMPRESSED is set but the module is too short for its header"))
            }
        }
        // Only user parts, system parts and assets may be compressed (validateModules).
        if prefix.flags.contains(.compressed), ![.user, .system, .asset].contains(prefix.function) {
            findings.append(Finding(.error, .formatInvalid, "a \(prefix.function) module cannot be compressed"))
        }

        var suffix: ModuleSuffix?
        var storedCRC: UInt32?
        var computedCRC: UInt32?
        var computedSHA: [UInt8]?
        if length >= 4 + ModuleSuffix.baseSize {
            storedCRC = bytes.u32be(at: end - 4)
            computedCRC = CRC32.checksum(bytes, range: base..<(end - 4))
            if storedCRC != computedCRC {
                findings.append(Finding(.error, .crcMismatch,
                    "CRC-32 mismatch: stored \(hex(storedCRC!)), computed \(hex(computedCRC!))"))
            }
            let (decoded, suffixFindings) = readSuffix(bytes, moduleStart: base + prefixOffset + ModulePrefix.size, end: end)
            suffix = decoded
            findings += suffixFindings
            computedSHA = SHA256.digest(bytes, range: base..<(end - 38))
            if decoded.sha256 != computedSHA {
                findings.append(Finding(.warning, .shaMismatch,
                    "stored SHA-256 \(decoded.sha256.hexString) does not match the contents (\(computedSHA!.hexString)); Device OS checks only the CRC"))
            }
        } else {
            findings.append(Finding(.error, .suffixInvalid, "\(length) bytes is too short for a module suffix and CRC"))
        }

        return FirmwareModule(
            offset: base, length: length, prefixOffset: prefixOffset, prefix: prefix,
            prefixExtensions: prefixExtensions, compressedHeader: compressedHeader, suffix: suffix,
            storedCRC: storedCRC, computedCRC: computedCRC, computedSHA256: computedSHA, findings: findings)
    }

    /// Reads backwards from `end` (§3.5). `moduleStart` bounds how far back a suffix may reach.
    static func readSuffix(_ bytes: [UInt8], moduleStart: Int, end: Int) -> (ModuleSuffix, [Finding]) {
        var findings: [Finding] = []
        let size = bytes.u16le(at: end - 6)!
        let sha = Array(bytes[(end - 38)..<(end - 6)])
        let reserved = bytes.u16le(at: end - 40)!
        var suffix = ModuleSuffix(size: size, sha256: sha, reserved: reserved)
        let reservedOffset = end - 40
        let suffixStart = end - 4 - Int(size)
        guard Int(size) >= ModuleSuffix.baseSize, suffixStart >= moduleStart else {
            findings.append(Finding(.error, .suffixInvalid,
                "suffix size \(size) is impossible (at least \(ModuleSuffix.baseSize), at most what follows the prefix)"))
            // An erased suffix (all 0xFF, as in some padded bootloaders) still reads as "not a
            // product" where the classic fields sit: what binary-version-reader reports for it.
            if Int(size) >= ModuleSuffix.classicSize, end - 44 >= moduleStart {
                suffix.classicProductID = bytes.u16le(at: end - 44)
                suffix.classicProductVersion = bytes.u16le(at: end - 42)
            }
            return (suffix, findings)
        }
        if Int(size) == ModuleSuffix.classicSize {
            suffix.classicProductID = bytes.u16le(at: end - 44)
            suffix.classicProductVersion = bytes.u16le(at: end - 42)
        } else if Int(size) > ModuleSuffix.baseSize {
            let list = ModuleExtension.readList(bytes, from: suffixStart, limit: reservedOffset)
            suffix.extensions = list.extensions
            if case .malformed(let offset, let reason) = list.end {
                findings.append(Finding(.warning, .suffixExtensionsMalformed,
                    "suffix extension at \(end - offset) bytes from the end: \(reason)"))
            } else if reservedOffset - list.next == 4 {
                // An END-terminated list followed by the classic product fields.
                suffix.classicProductID = bytes.u16le(at: end - 44)
                suffix.classicProductVersion = bytes.u16le(at: end - 42)
            } else if list.next != reservedOffset {
                findings.append(Finding(.warning, .suffixExtensionsMalformed,
                    "\(reservedOffset - list.next) unexplained bytes between the suffix extensions and the SHA-256"))
            }
        }
        return (suffix, findings)
    }

    private static func reason(errno code: Int32) -> String {
        switch code {
        case ENOENT: "no such file"
        case ELOOP: "too many levels of symbolic links (a symlink loop?)"
        case EACCES: "permission denied"
        default: String(cString: strerror(code))
        }
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError || nsError.code == NSFileNoSuchFileError {
            return "no such file"
        }
        return nsError.localizedDescription
    }
}
