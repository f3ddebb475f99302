/// Makes valid module binaries, laid out as Particle's build does for the platform and
/// function: vector table or image header in front of the prefix where the platform has
/// one (§3.6), prefix extensions, optional raw Deflate body, the platform's suffix, the
/// SHA-256 over everything before it and the big-endian CRC-32 over everything but itself (§3.5).
public struct ModuleBuilder: Sendable {
    public struct Product: Hashable, Sendable {
        public var id: UInt32
        public var version: UInt16

        public init(id: UInt32, version: UInt16) {
            self.id = id
            self.version = version
        }
    }

    public var platform: Platform
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16
    public var dependencies: [ModuleDependency]
    /// DROP_MODULE_INFO, COMPRESSED (the payload is then deflated), COMBINED, ENCRYPTED; PREFIX_EXTENSIONS
    /// is set by itself when there are prefix extensions.
    public var flags: ModuleFlags
    public var product: Product?
    public var payload: [UInt8]
    /// Defaults to where the platform's slot puts a module of this size.
    public var startAddress: UInt32?
    /// The prefix's reserved byte: the MCU target of an NCP module.
    public var mcuTarget: UInt8
    /// Written after the prefix, followed by an END extension.
    public var prefixExtensions: [ModuleExtension]

    public init(
        platform: Platform, function: ModuleFunction, index: UInt8, version: UInt16,
        dependencies: [ModuleDependency] = [], flags: ModuleFlags = [], product: Product? = nil,
        payload: [UInt8], startAddress: UInt32? = nil, mcuTarget: UInt8? = nil, prefixExtensions: [ModuleExtension] = []
    ) {
        self.platform = platform
        self.function = function
        self.index = index
        self.version = version
        self.dependencies = dependencies
        self.flags = flags
        self.product = product
        self.payload = payload
        self.startAddress = startAddress
        self.mcuTarget = mcuTarget ?? (function == .ncp ? platform.ncp?.mcuTarget ?? 0 : 0)
        self.prefixExtensions = prefixExtensions
    }

    /// The prefix offset Particle's build uses for this platform and function.
    public var prefixOffset: Int { platform.prefixOffset(for: function, index: index) }

    /// RTL872x modules carry their product data and location as suffix extensions (§3.5).
    var usesSuffixExtensions: Bool { platform.mcu == .rtl872x }

    public func build() throws(ModuleBuildError) -> [UInt8] {
        guard dependencies.count <= 2 else { throw .tooManyDependencies(dependencies.count) }
        let prefixOffset = self.prefixOffset
        var flags = self.flags
        if prefixOffset > 0, !flags.isDisjoint(with: [.dropModuleInfo, .compressed]) {
            throw .invalidFlags("DROP_MODULE_INFO and COMPRESSED need the prefix at offset 0, and \(platform.buildName) \(function) has it at \(hex(prefixOffset))")
        }
        if !prefixExtensions.isEmpty { flags.insert(.prefixExtensions) }
        // Both layouts hold a 16-bit id: the classic suffix field, and the PRODUCT_DATA
        // extension after its filler half-word.
        if let product, product.id > 0xFFFF { throw .productIDTooLarge(product.id) }

        var body: [UInt8] = []
        if flags.contains(.prefixExtensions) {
            for item in prefixExtensions where !item.isEnd { body += item.encoded }
            body += ModuleExtension.end(padding: []).encoded
        }
        if flags.contains(.compressed) {
            let deflated: [UInt8]
            do { deflated = try RawDeflate.compress(payload) } catch { throw .compressionFailed(error.description) }
            body += CompressedModuleHeader(originalSize: UInt32(payload.count)).encoded
            body += deflated
        } else {
            body += payload
        }

        let suffixLength = usesSuffixExtensions ? 16 + 10 + ModuleSuffix.baseSize : ModuleSuffix.classicSize
        let total = prefixOffset + ModulePrefix.size + body.count + suffixLength + 4
        let start: UInt32
        if let startAddress {
            start = startAddress
        } else if let slot = platform.slot(for: function, index: index) {
            start = slot.startAddress(forModuleOfSize: total)
        } else if function == .asset || function == .ncp {
            start = 0  // assets and coprocessor images are not placed in MCU flash
        } else {
            throw .noSlot(function: function, index: index, platform: platform.buildName)
        }
        guard UInt64(start) + UInt64(total) - 4 <= UInt64(UInt32.max) else { throw .addressOverflow(start: start, size: total) }
        let end = start + UInt32(total - 4)

        var bytes: [UInt8] = []
        bytes.reserveCapacity(total)
        bytes += vectorTable(count: prefixOffset, start: start)
        let dependency = dependencies.first ?? .unused
        let dependency2 = dependencies.count > 1 ? dependencies[1] : .unused
        bytes += ModulePrefix(
            startAddress: start, endAddress: end, reserved: mcuTarget, flags: flags, version: version,
            platformID: platform.id, function: function, index: index, dependency: dependency, dependency2: dependency2
        ).encoded
        bytes += body
        if usesSuffixExtensions {
            bytes += ModuleExtension.dynamicLocation(moduleStart: start, dynalibLoad: 0, dynalibStart: 0).encoded
            bytes += ModuleExtension.productData(id: UInt16(truncatingIfNeeded: product?.id ?? 0xFFFF), version: product?.version ?? 0xFFFF).encoded
        } else {
            bytes.appendLE(UInt16(truncatingIfNeeded: product?.id ?? 0xFFFF))
            bytes.appendLE(product?.version ?? 0xFFFF)
        }
        bytes.appendLE(UInt16(0))  // reserved
        bytes += SHA256.digest(bytes)
        bytes.appendLE(UInt16(suffixLength))
        bytes.appendBE(CRC32.checksum(bytes))
        assert(bytes.count == total)
        return bytes
    }

    /// Several modules in one file, each but the last flagged COMBINED (§3.3).
    public static func combine(_ builders: [ModuleBuilder]) throws(ModuleBuildError) -> [UInt8] {
        var bytes: [UInt8] = []
        for (position, var builder) in builders.enumerated() {
            if position < builders.count - 1 { builder.flags.insert(.combined) } else { builder.flags.remove(.combined) }
            bytes += try builder.build()
        }
        return bytes
    }

    /// What sits in front of the prefix: an ARM vector table whose first word points into RAM,
    /// the way Device OS recognises one (flash_mal.c, APP_START_MASK), then the reset handler.
    private func vectorTable(count: Int, start: UInt32) -> [UInt8] {
        guard count > 0 else { return [] }
        var table: [UInt8] = []
        table.appendLE(UInt32(0x2004_0000))
        table.appendLE(start &+ UInt32(count + ModulePrefix.size) | 1)
        table += [UInt8](repeating: 0, count: max(0, count - table.count))
        return Array(table.prefix(count))
    }
}
