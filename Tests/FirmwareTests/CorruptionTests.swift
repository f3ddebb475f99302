import Firmware
import TestSupport
import Testing

@Suite("Damaged modules are caught", .timeLimit(.minutes(10)))
struct CorruptionTests {
    static let boron = SampleModules.platform("boron")

    static func system() throws -> [UInt8] {
        try ModuleBuilder(platform: boron, function: .system, index: 1, version: 5000, payload: SampleModules.payload(1000)).build()
    }

    @Test("Any single flipped bit makes the module invalid or unreadable")
    func everySingleBitFlip() throws {
        let original = try SampleModules.userApp(for: SampleModules.platform("photon"), systemVersion: 3, payloadSize: 160)
        for position in original.indices {
            for bit in 0..<8 {
                var bytes = original
                bytes[position] ^= 1 << bit
                if let file = try? ModuleFile(bytes: bytes) {
                    #expect(!file.isValid, "bit \(bit) of byte \(position) went unnoticed")
                }
            }
        }
    }

    @Test("A flipped bit in the body is a CRC failure")
    func bodyBitFlipFailsCRC() throws {
        var bytes = try Self.system()
        bytes[0x200 + 24 + 500] ^= 0x10
        let module = try #require(try ModuleFile(bytes: bytes).modules.first)
        #expect(!module.crcOK)
        #expect(module.findings.contains { $0.kind == .crcMismatch && $0.isError })
        #expect(!module.isValid)
    }

    @Test("A wrong SHA-256 with a matching CRC is reported")
    func wrongSHAReported() throws {
        var bytes = try Self.system()
        bytes[bytes.count - 38] ^= 0xFF  // first byte of the stored digest
        let crc = CRC32.checksum(bytes, range: 0..<(bytes.count - 4))
        bytes.replaceSubrange((bytes.count - 4)..., with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        let module = try #require(try ModuleFile(bytes: bytes).modules.first)
        #expect(module.crcOK)
        #expect(!module.sha256OK)
        #expect(module.findings.contains { $0.kind == .shaMismatch })
    }

    @Test("Truncation at any length gives an error, never a valid module", arguments: ["photon", "boron", "p2"])
    func truncationAtEveryLength(_ platform: String) throws {
        let bytes = try ModuleBuilder(platform: SampleModules.platform(platform), function: .system, index: 1, version: 1,
                                      payload: SampleModules.payload(700)).build()
        for length in 0..<bytes.count {
            let truncated = Array(bytes.prefix(length))
            do {
                let file = try ModuleFile(bytes: truncated)
                #expect(!file.isValid, "\(length) bytes of \(bytes.count) read as valid")
                #expect(!file.allFindings.filter(\.isError).isEmpty)
            } catch {
                // With its prefix whole, a file cut short says so, and by how much.
                let prefixOffset = SampleModules.platform(platform).prefixOffset(for: .system, index: 1)
                let expected: ModuleReadError = length == 0 ? .empty
                    : length >= prefixOffset + ModulePrefix.size ? .truncated(length: length, expected: bytes.count, prefixOffset: prefixOffset)
                    : .noModulePrefix(length: length)
                #expect(error == expected, "\(length) bytes of \(bytes.count): \(error)")
            }
        }
    }

    @Test("A module whose suffix size is absurd is invalid, and says why")
    func absurdSuffixSize() throws {
        var bytes = try Self.system()
        bytes[bytes.count - 6] = 0xFF
        bytes[bytes.count - 5] = 0xFF
        let module = try #require(try ModuleFile(bytes: bytes).modules.first)
        #expect(module.findings.contains { $0.kind == .suffixInvalid })
    }
}
