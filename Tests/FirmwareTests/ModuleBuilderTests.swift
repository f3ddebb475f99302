import Firmware
import TestSupport
import Testing

@Suite("ModuleBuilder → reader round trip", .timeLimit(.minutes(10)))
struct ModuleBuilderTests {
    /// Every catalog platform with every module function: the platform's own slots, and the
    /// functions it has no slot for, built at an explicit address.
    struct Case: CustomTestStringConvertible, Sendable {
        var platform: Platform
        var function: ModuleFunction
        var index: UInt8
        var startAddress: UInt32?
        var testDescription: String { "\(platform.buildName) \(function) \(index)" }
    }

    static let cases: [Case] = Platform.catalog.flatMap { platform in
        ModuleFunction.allKnown.filter { $0 != .none }.flatMap { function -> [Case] in
            let slots = platform.slots.filter { $0.function == function }
            if slots.isEmpty { return [Case(platform: platform, function: function, index: 0, startAddress: 0x1000)] }
            return slots.map { Case(platform: platform, function: function, index: $0.index, startAddress: nil) }
        }
    }

    @Test("Built modules read back with every field", arguments: cases)
    func roundTrip(_ testCase: Case) throws {
        let payload = SampleModules.payload(1500, seed: UInt64(testCase.platform.id.rawValue))
        let dependencies = [ModuleDependency(function: .system, index: 1, version: 1234),
                            ModuleDependency(function: .bootloader, index: 0, version: 7)]
        let builder = ModuleBuilder(
            platform: testCase.platform, function: testCase.function, index: testCase.index, version: 4321,
            dependencies: dependencies, product: .init(id: 0x1234, version: 9), payload: payload,
            startAddress: testCase.startAddress)
        let bytes = try builder.build()
        let file = try ModuleFile(bytes: bytes)

        #expect(file.modules.count == 1)
        let module = try #require(file.modules.first)
        #expect(module.findings.isEmpty, "\(module.findings)")
        #expect(file.isValid)
        #expect(module.platformID == testCase.platform.id)
        #expect(module.function == testCase.function)
        #expect(module.index == testCase.index)
        #expect(module.version == 4321)
        #expect(module.prefix.dependencies == dependencies)
        #expect(module.prefixOffset == testCase.platform.prefixOffset(for: testCase.function, index: testCase.index))
        #expect(module.length == bytes.count)
        #expect(module.size == bytes.count)
        #expect(module.crcOK)
        #expect(module.sha256OK)
        #expect(module.product?.id == 0x1234)
        #expect(module.product?.version == 9)
        if let slot = testCase.platform.slot(for: testCase.function, index: testCase.index) {
            #expect(module.startAddress == slot.startAddress(forModuleOfSize: bytes.count))
        } else {
            #expect(module.startAddress == testCase.startAddress)
        }
        let bodyStart = module.prefixOffset + ModulePrefix.size
        #expect(Array(bytes[bodyStart..<(bodyStart + payload.count)]) == payload)
    }

    @Test("RTL872x modules carry suffix extensions, others the classic product fields")
    func suffixLayoutFollowsPlatform() throws {
        for platform in Platform.catalog {
            let module = try #require(try ModuleFile(bytes: SampleModules.userApp(for: platform, systemVersion: 1)).modules.first)
            if platform.mcu == .rtl872x {
                #expect(module.suffix?.size == 62)
                #expect(module.suffix?.extensions.count == 2)
                // User parts end at the top of their region (§2.9).
                #expect(UInt64(module.endAddress) + 4 == platform.slot(for: .user, index: 1)?.end)
            } else {
                #expect(module.suffix?.size == 40)
                #expect(module.suffix?.classicProductID == 0xFFFF)
            }
        }
    }

    @Test("Compressed modules carry a raw Deflate body that inflates to the payload")
    func compressed() throws {
        let payload = [UInt8](repeating: 0x5A, count: 20_000) + SampleModules.payload(3000)
        for name in ["photon", "boron", "p2"] {
            let platform = SampleModules.platform(name)
            let index: UInt8 = platform.generation == .gen2 || platform.mcu == .rtl872x ? 1 : 2
            let bytes = try ModuleBuilder(platform: platform, function: .user, index: index, version: 6,
                                          flags: [.compressed], payload: payload).build()
            #expect(bytes.count < payload.count)
            let file = try ModuleFile(bytes: bytes)
            let module = try #require(file.modules.first)
            #expect(file.isValid, "\(module.findings)")
            let header = try #require(module.compressedHeader)
            #expect(header.originalSize == UInt32(payload.count))
            let start = ModulePrefix.size + CompressedModuleHeader.size
            let end = bytes.count - Int(module.suffix!.size) - 4
            #expect(try RawDeflate.decompress(bytes[start..<end], expectedSize: payload.count) == payload)
        }
    }

    @Test("Compression and dropping the prefix need the prefix at offset 0")
    func compressionNeedsPrefixAtZero() throws {
        let builder = ModuleBuilder(platform: SampleModules.platform("boron"), function: .system, index: 1, version: 1,
                                    flags: [.compressed], payload: [1, 2, 3])
        #expect(throws: ModuleBuildError.self) { try builder.build() }
    }

    @Test("Prefix extensions round trip and end with END")
    func prefixExtensions() throws {
        let hash = SampleModules.payload(32, seed: 9)
        let extensions: [ModuleExtension] = [
            .assetDependency(hashType: 0, hash: hash, name: "sound.wav"),
            .dependency(ModuleDependency(function: .ncp, index: 0, version: 7), targetID: 0x21),
        ]
        let bytes = try ModuleBuilder(platform: SampleModules.platform("tracker"), function: .user, index: 2, version: 6,
                                      payload: SampleModules.payload(800), prefixExtensions: extensions).build()
        let module = try #require(try ModuleFile(bytes: bytes).modules.first)
        #expect(module.isValid, "\(module.findings)")
        #expect(module.flags.contains(.prefixExtensions))
        #expect(Array(module.prefixExtensions.dropLast()) == extensions)
        #expect(module.prefixExtensions.last == .end(padding: []))
        #expect(module.dependencies.contains(ModuleDependency(function: .ncp, index: 0, version: 7)))
    }

    @Test("COMBINED files read as several modules, each checked on its own")
    func combined() throws {
        let boron = SampleModules.platform("boron")
        let system = ModuleBuilder(platform: boron, function: .system, index: 1, version: 5000,
                                   dependencies: [ModuleDependency(function: .bootloader, index: 0, version: 2000)],
                                   payload: SampleModules.payload(4000, seed: 2))
        let user = ModuleBuilder(platform: boron, function: .user, index: 2, version: 6,
                                 dependencies: [ModuleDependency(function: .system, index: 1, version: 5000)],
                                 payload: SampleModules.payload(900, seed: 3))
        var bytes = try ModuleBuilder.combine([system, user])
        var file = try ModuleFile(bytes: bytes)
        #expect(file.modules.map(\.function) == [.system, .user])
        #expect(file.modules[0].flags.contains(.combined))
        #expect(!file.modules[1].flags.contains(.combined))
        #expect(file.isValid, "\(file.allFindings)")
        #expect(file.modules[1].offset == file.modules[0].size)

        // Damage the second module only: the first stays valid.
        bytes[bytes.count - 100] ^= 0x01
        file = try ModuleFile(bytes: bytes)
        #expect(file.modules[0].isValid)
        #expect(file.modules[1].findings.contains { $0.kind == .crcMismatch })
        #expect(!file.isValid)

        // A COMBINED flag with nothing after it is an error of the file.
        let lone = try ModuleFile(bytes: system.with(flags: [.combined]).build())
        #expect(lone.findings.contains { $0.kind == .combinedModuleMissing })
        #expect(!lone.isValid)
    }

    @Test("Bad requests are refused with a reason")
    func badRequests() {
        let photon = SampleModules.platform("photon")
        let three = Array(repeating: ModuleDependency(function: .system, index: 1, version: 1), count: 3)
        #expect(throws: ModuleBuildError.tooManyDependencies(3)) {
            try ModuleBuilder(platform: photon, function: .user, index: 1, version: 1, dependencies: three, payload: []).build()
        }
        #expect(throws: ModuleBuildError.noSlot(function: .radio, index: 0, platform: "photon")) {
            try ModuleBuilder(platform: photon, function: .radio, index: 0, version: 1, payload: []).build()
        }
        #expect(throws: ModuleBuildError.productIDTooLarge(70000)) {
            try ModuleBuilder(platform: photon, function: .user, index: 1, version: 1, product: .init(id: 70000, version: 1),
                              payload: []).build()
        }
        // The PRODUCT_DATA extension holds 16 bits too, after its filler.
        #expect(throws: ModuleBuildError.productIDTooLarge(70000)) {
            try ModuleBuilder(platform: SampleModules.platform("p2"), function: .user, index: 1, version: 1,
                              product: .init(id: 70000, version: 1), payload: []).build()
        }
    }

    @Test("RTL872x product data is written as Device OS links it: 0xFFFF filler, then id and version")
    func productDataLayout() throws {
        let bytes = try ModuleBuilder(platform: SampleModules.platform("p2"), function: .user, index: 1, version: 1,
                                      product: .init(id: 32, version: 0xBEEF), payload: [1, 2, 3]).build()
        // The extension ends where the base suffix (reserved, SHA-256, size) begins, before the CRC.
        let header = bytes.count - 4 - ModuleSuffix.baseSize - 10
        #expect(Array(bytes[header..<(header + 10)]) == [0x01, 0x00, 0x0A, 0x00, 0xFF, 0xFF, 0x20, 0x00, 0xEF, 0xBE])
        let module = try #require(try ModuleFile(bytes: bytes).modules.first)
        #expect(module.product?.id == 32)
        #expect(module.product?.version == 0xBEEF)
    }
}

extension ModuleBuilder {
    func with(flags: ModuleFlags) -> ModuleBuilder {
        var copy = self
        copy.flags = flags
        return copy
    }
}
