import Firmware
import Foundation
import TestSupport
import Testing

/// The reader against real Particle binaries and the table an independent parser produced.
@Suite("Real Particle binaries agree with the fixture table", .enabled(if: Fixtures.enabled), .timeLimit(.minutes(10)))
struct FixtureReaderTests {
    static let rows: [FixtureTable.Row] = (try? FixtureTable.load().rows) ?? []

    @Test("The table covers every fixture file, and every row names a file")
    func tableCoversEveryFixture() throws {
        let files = Set(try Fixtures.firmwareFiles().map(\.lastPathComponent))
        let table = try FixtureTable.load()
        #expect(table.rows.count >= 30)
        #expect(Set(table.rows.map(\.file)) == files)
    }

    @Test("Each fixture reads as the table says", arguments: rows)
    func agreesWithTable(_ row: FixtureTable.Row) throws {
        let bytes = try Fixtures.bytes(of: row.file)
        guard let platform = row.platform else {
            // The negatives: nothing there is a module.
            #expect(bytes.count == row.noModuleLength)
            let error = #expect(throws: ModuleReadError.self) { try ModuleFile(bytes: bytes) }
            switch error {
            case .unknownModuleFunction(let length, _, _, _)?:
                // Built like a module for a function no board has: refused, saying what was there.
                #expect(length == bytes.count)
                #expect(error?.description.contains("module function") == true)
            default:
                #expect(error == (bytes.isEmpty ? .empty : .noModulePrefix(length: bytes.count)))
            }
            return
        }
        let file = try ModuleFile(bytes: bytes)
        let module = try #require(file.modules.first)
        #expect(Int(module.platformID.rawValue) == platform)
        #expect(module.function.name == row.function)
        #expect(Int(module.index) == row.index)
        #expect(Int(module.version) == row.version)
        #expect(module.prefixOffset == row.prefixOffset)
        #expect(Int(module.startAddress) == row.start)
        #expect(Int(module.endAddress) == row.end)
        #expect(module.crcOK == row.crcOK)
        #expect((module.length == module.size) == row.lengthExact)
        #expect(module.suffix.map { Int($0.size) } == row.suffixSize)
        let dependencies = module.dependencies.map {
            FixtureTable.Dependency(function: $0.function.name, index: Int($0.index), version: Int($0.version))
        }
        #expect(dependencies == row.dependencies)
        // A module is valid exactly when its CRC holds and its length matches its prefix.
        #expect(file.isValid == (row.crcOK == true && row.lengthExact == true))
    }

    /// Product id and version as binary-version-reader 4.2.0 reports them (nil: the suffix has no
    /// product fields). RTL872x parts carry them in a PRODUCT_DATA extension after a 0xFFFF filler.
    static let products: [String: (id: UInt32, version: UInt16)?] = [
        "p2-user-part.bin": (32, 0xBEEF),
        "p2-tinker@5.3.1.bin": (32, 4),
        "p2-user-part-prefix-extensions.bin": (32, 4),
        "p2-bootloader@5.6.0.bin": (0xFFFF, 0xFFFF),
        "tracker-tinker@5.3.1.bin": (26, 3),
        "tracker-user-part-extensions.bin": (26, 3),
        "tracker-bootloader@5.6.0.bin": (0, 0),
        "044_Core_Tinker_P5_V10.bin": (5, 10),
        "043_user-part.bin": (0xFFFF, 0xFFFF),
        "040_user-part.bin": nil,
        "cat.bin": (0xFFFF, 0xFFFF),
    ]

    @Test("Product ids and versions read as Particle's parser reads them", arguments: products.keys.sorted())
    func productData(_ file: String) throws {
        let module = try #require(try ModuleFile(bytes: Fixtures.bytes(of: file)).modules.first)
        let expected = try #require(Self.products[file])
        #expect(module.product?.id == expected?.id)
        #expect(module.product?.version == expected?.version)
    }

    @Test("Extensions of the real binaries decode")
    func extensionsDecode() throws {
        let p2 = try #require(try ModuleFile(bytes: Fixtures.bytes(of: "p2-user-part-prefix-extensions.bin")).modules.first)
        let names = p2.prefixExtensions.compactMap { item -> String? in
            if case .assetDependency(_, let hash, let name) = item, hash.count == 32 { name } else { nil }
        }
        #expect(names == ["103_system-part1.bin", "unknown.bin"])
        #expect(p2.prefixExtensions.last?.isEnd == true)
        #expect(p2.suffix?.extensions.contains { if case .dynamicLocation(0x085F_3F90, _, _) = $0 { true } else { false } } == true)

        let protected = try #require(try ModuleFile(bytes: Fixtures.bytes(of: "tracker-bootloader-protected-cert.bin")).modules.first)
        let security = protected.suffix?.extensions.compactMap { item -> (UInt8, Int)? in
            if case .securityMode(let mode, let certificate) = item { (mode, certificate.count) } else { nil }
        }.first
        #expect(security?.0 == 1)
        #expect((security?.1 ?? 0) > 200)

        let asset = try #require(try ModuleFile(bytes: Fixtures.bytes(of: "cat.bin")).modules.first)
        #expect(asset.suffix?.extensions.contains(.name("cat.jpg")) == true)
        #expect(asset.flags.contains(.dropModuleInfo))
    }

    @Test("SHA-256 is verified: real modules match, the NCP image is reported")
    func sha256Verified() throws {
        let system = try #require(try ModuleFile(bytes: Fixtures.bytes(of: "080_system-part1-xenon.bin")).modules.first)
        #expect(system.sha256OK)
        #expect(!system.findings.contains { $0.kind == .shaMismatch })
        // Its stored digest is not over the module bytes; a warning, since Device OS checks only the CRC.
        let ncp = try #require(try ModuleFile(bytes: Fixtures.bytes(of: "argon-ncp-firmware-0.0.5-ota.bin")).modules.first)
        #expect(!ncp.sha256OK)
        #expect(ncp.findings.contains { $0.kind == .shaMismatch && $0.severity == .warning })
        #expect(ncp.isValid)
        #expect(ncp.prefix.reserved == 0x21)
    }
}
