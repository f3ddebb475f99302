import Firmware
import Foundation
import TestSupport
import Testing

/// Our reader and `ModuleBuilder` against binary-version-reader, the module parser particle-cli
/// uses, run unchanged from the peers: where the two disagree about a real binary, ours is wrong.
@Suite("Particle's module parser reads what we read and what we build", .enabled(if: Fixtures.enabled && ParticlePeers.enabled),
       .timeLimit(.minutes(5)))
struct ParticleParserTests {
    /// What `module-parser.js` prints for one file.
    struct Reading: Decodable {
        struct Product: Decodable, Equatable {
            var id: Int
            var version: Int
        }
        var file: String
        var error: String?
        var prefixOffset: Int?
        var start: Int?
        var end: Int?
        var flags: Int?
        var version: Int?
        var platformID: Int?
        var function: Int?
        var index: Int?
        var dependency: [Int]?
        var dependency2: [Int]?
        var crcOK: Bool?
        var suffixSize: Int?
        var productID: Int?
        var productVersion: Int?
        var productExtension: Product?
        var sha256: String?
    }

    static func read(_ files: [URL]) async throws -> [Reading] {
        let output = try await ParticlePeers.run(ParticlePeers.script("module-parser.js"), files.map(\.path))
        #expect(output.status == 0, "module-parser.js: \(output.standardError)")
        return try output.lines.map { try JSONDecoder().decode(Reading.self, from: Data($0.utf8)) }
    }

    /// Files Particle's parser cannot read at all: what it says, and whether ours reads them.
    static let particleRefuses: [String: (message: String, oursReads: Bool)] = [
        "emptybin.bin": ("was empty", false),
        // Its suffix size (99) reaches back into code; Particle's parser walks the bytes there as
        // suffix extensions and throws on a zero length. Device OS checks the CRC, which holds.
        "RC2_bootloader.bin": ("Invalid extension length", true),
    ]

    /// Fields compared, each once per file.
    static func compare(_ reading: Reading, _ module: FirmwareModule) -> Int {
        let file = reading.file
        var fields = 0
        func check<T: Equatable>(_ name: String, _ theirs: T?, _ ours: T) {
            fields += 1
            #expect(theirs == ours, "\(file): \(name) is \(String(describing: theirs)) in Particle's parser, \(ours) in ours")
        }
        check("prefix offset", reading.prefixOffset, module.prefixOffset)
        check("start", reading.start, Int(module.startAddress))
        check("end", reading.end, Int(module.endAddress))
        check("flags", reading.flags, Int(module.flags.rawValue))
        check("version", reading.version, Int(module.version))
        check("platform", reading.platformID, Int(module.platformID.rawValue))
        check("function", reading.function, Int(module.function.rawValue))
        check("index", reading.index, Int(module.index))
        let dependency = module.prefix.dependency
        let dependency2 = module.prefix.dependency2
        check("dependency", reading.dependency, [Int(dependency.function.rawValue), Int(dependency.index), Int(dependency.version)])
        check("second dependency", reading.dependency2, [Int(dependency2.function.rawValue), Int(dependency2.index), Int(dependency2.version)])
        check("CRC", reading.crcOK, module.crcOK)
        if let suffix = module.suffix {
            check("suffix size", reading.suffixSize, Int(suffix.size))
            check("SHA-256", reading.sha256, suffix.sha256.map { String(format: "%02x", $0) }.joined())
            // Particle's parser reports -1 where the suffix has no product fields.
            check("product id", reading.productID, module.product.map { Int($0.id) } ?? -1)
            check("product version", reading.productVersion, module.product.map { Int($0.version) } ?? -1)
        }
        let extensionProduct = ((module.suffix?.extensions ?? []) + module.prefixExtensions).lazy.compactMap { item -> Reading.Product? in
            if case .productData(let id, let version, _) = item { Reading.Product(id: Int(id), version: Int(version)) } else { nil }
        }.first
        check("PRODUCT_DATA extension", reading.productExtension, extensionProduct)
        return fields
    }

    @Test("Every fixture reads the same in both parsers, field by field")
    func fixturesAgree() async throws {
        let files = try Fixtures.firmwareFiles()
        let readings = try await Self.read(files)
        try #require(readings.count == files.count)
        var compared = 0
        for (url, reading) in zip(files, readings) {
            #expect(reading.file == url.lastPathComponent)
            let bytes = try Fixtures.bytes(of: url.lastPathComponent)
            if let error = reading.error {
                let expected = try #require(Self.particleRefuses[reading.file], "\(reading.file): Particle's parser failed: \(error)")
                #expect(error.contains(expected.message), "\(reading.file): \(error)")
                if expected.oursReads {
                    #expect(try ModuleFile(bytes: bytes).modules.first?.crcOK == true)
                } else {
                    #expect(throws: ModuleReadError.self) { try ModuleFile(bytes: bytes) }
                }
                continue
            }
            let read = Result { () throws(ModuleReadError) -> ModuleFile in try ModuleFile(bytes: bytes) }
            switch read {
            case .success(let file):
                compared += Self.compare(reading, try #require(file.modules.first))
            case .failure(let error):
                // We refuse what no board takes, and say what was there: the prefix Particle's
                // parser found, with its function.
                let offset = try #require(reading.prefixOffset)
                let platform = UInt16(try #require(reading.platformID))
                let function = UInt8(try #require(reading.function))
                let expected = ModuleReadError.unknownModuleFunction(
                    length: bytes.count, prefixOffset: offset, platformID: platform, function: function)
                #expect(error == expected, "\(reading.file): Particle's parser reads it, ours says \(error)")
                #expect(reading.crcOK == true)
                #expect(ModuleFunction(rawValue: UInt8(reading.function ?? 0)).isKnown == false)
            }
        }
        // 31 modules both read, 12 to 16 fields each: the comparison ran, it did not pass by skipping.
        #expect(compared >= 400)
    }

    @Test("Modules we build read back in Particle's parser as we meant them, product data included")
    func builtModulesReadBack() async throws {
        let folder = try temporaryFolder("particle-parser")
        defer { try? FileManager.default.removeItem(at: folder) }
        var files: [URL] = []
        var built: [(platform: Platform, product: ModuleBuilder.Product?, dependency: ModuleDependency)] = []
        for (position, platform) in Platform.catalog.enumerated() {
            let product = position % 3 == 2 ? nil : ModuleBuilder.Product(id: 32 + UInt32(position), version: UInt16(7 + position))
            let dependency = ModuleDependency(function: .system, index: 1, version: 6101)
            let bytes = try ModuleBuilder(platform: platform, function: .user, index: 1, version: 6,
                                          dependencies: [dependency], product: product,
                                          payload: Array(repeating: UInt8(position), count: 512)).build()
            let url = folder.appendingPathComponent("\(platform.buildName)-user.bin")
            try Data(bytes).write(to: url)
            files.append(url)
            built.append((platform, product, dependency))
        }
        let readings = try await Self.read(files)
        try #require(readings.count == built.count)
        for (reading, module) in zip(readings, built) {
            let name = module.platform.buildName
            #expect(reading.error == nil, "\(name): \(reading.error ?? "")")
            #expect(reading.platformID == Int(module.platform.id.rawValue), "\(name)")
            #expect(reading.function == Int(ModuleFunction.user.rawValue), "\(name)")
            #expect(reading.version == 6, "\(name)")
            #expect(reading.crcOK == true, "\(name)")
            #expect(reading.dependency == [Int(ModuleFunction.system.rawValue), 1, 6101], "\(name)")
            let id = module.product.map { Int($0.id) } ?? 0xFFFF
            let version = module.product.map { Int($0.version) } ?? 0xFFFF
            #expect(reading.productID == id, "\(name): product id")
            #expect(reading.productVersion == version, "\(name): product version")
            if module.platform.mcu == .rtl872x {
                #expect(reading.productExtension == Reading.Product(id: id, version: version), "\(name): PRODUCT_DATA")
            }
        }
    }
}
