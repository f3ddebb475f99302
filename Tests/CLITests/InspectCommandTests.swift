import Firmware
import Foundation
import TestSupport
import Testing

@Suite("otabench inspect", .timeLimit(.minutes(10)))
struct InspectCommandTests {
    static func temporaryFile(_ bytes: [UInt8], name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test("A valid module exits 0 and prints its summary")
    func validModule() async throws {
        let path = try Self.temporaryFile(try SampleModules.userApp(for: SampleModules.platform("boron"), systemVersion: 4100), name: "app.bin")
        let result = try await OtabenchProcess.run(["inspect", path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("boron (13)"))
        #expect(result.standardOutput.contains("system 1 v4100"))
        #expect(result.standardOutput.contains("Verdict       valid"))
    }

    @Test("--json on one file prints one object with every documented key")
    func jsonObject() async throws {
        let path = try Self.temporaryFile(try SampleModules.userApp(for: SampleModules.platform("p2"), systemVersion: 5301), name: "p2.bin")
        let result = try await OtabenchProcess.run(["inspect", "--json", path])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        for key in ["file", "valid", "platformId", "platform", "function", "index", "version", "prefixOffset", "startAddress",
                    "endAddress", "flags", "crcOk", "sha256", "suffixSize", "productId", "productVersion", "dependencies", "problems"] {
            #expect(object.keys.contains(key), "missing key \(key)")
        }
        #expect(object["platform"] as? String == "p2")
        #expect(object["function"] as? String == "user")
        #expect(object["suffixSize"] as? Int == 62)
        #expect((object["dependencies"] as? [[String: Any]])?.first?["version"] as? Int == 5301)
    }

    @Test("A damaged module exits 1 and names the problem")
    func damagedModule() async throws {
        var bytes = try SampleModules.userApp(for: SampleModules.platform("photon"), systemVersion: 3)
        bytes[500] ^= 0x40
        let path = try Self.temporaryFile(bytes, name: "bad.bin")
        let result = try await OtabenchProcess.run(["inspect", path])
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("CRC-32 mismatch"))
    }

    @Test("Usage errors and unreadable files exit 2 with one clear line")
    func usageErrors() async throws {
        #expect(try await OtabenchProcess.run(["inspect"]).status == 2)
        #expect(try await OtabenchProcess.run(["inspect", "--no-such-flag", "x.bin"]).status == 2)
        #expect(try await OtabenchProcess.run(["no-such-verb"]).status == 2)
        let missing = try await OtabenchProcess.run(["inspect", "/nonexistent/firmware.bin"])
        #expect(missing.status == 2)
        #expect(missing.standardError.contains("cannot read /nonexistent/firmware.bin: no such file"))
        #expect(missing.standardOutput.isEmpty)
        #expect(try await OtabenchProcess.run(["inspect", FileManager.default.temporaryDirectory.path]).status == 2)
    }

    @Test("inspect --json over the real binaries agrees with the fixture table", .enabled(if: Fixtures.enabled))
    func fixturesAgree() async throws {
        let table = try FixtureTable.load()
        let files = try Fixtures.firmwareFiles()
        let result = try await OtabenchProcess.run(["inspect", "--json"] + files.map(\.path))
        #expect(result.status == 1)  // the negatives are in there
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
        #expect(reports.count == files.count)
        for report in reports {
            let name = URL(fileURLWithPath: try #require(report["file"] as? String)).lastPathComponent
            let row = try #require(table.rows.first { $0.file == name })
            if row.platform == nil {
                #expect(report["valid"] as? Bool == false)
                #expect(report["platformId"] is NSNull)
                #expect((report["problems"] as? [String])?.isEmpty == false)
                continue
            }
            #expect(report["platformId"] as? Int == row.platform, "\(name)")
            #expect(report["function"] as? String == row.function, "\(name)")
            #expect(report["index"] as? Int == row.index, "\(name)")
            #expect(report["version"] as? Int == row.version, "\(name)")
            #expect(report["prefixOffset"] as? Int == row.prefixOffset, "\(name)")
            #expect(report["startAddress"] as? Int == row.start, "\(name)")
            #expect(report["endAddress"] as? Int == row.end, "\(name)")
            #expect(report["crcOk"] as? Bool == row.crcOK, "\(name)")
            #expect(report["suffixSize"] as? Int == row.suffixSize, "\(name)")
            let dependencies = (report["dependencies"] as? [[String: Any]] ?? []).map {
                FixtureTable.Dependency(function: $0["function"] as? String ?? "", index: $0["index"] as? Int ?? -1,
                                        version: $0["version"] as? Int ?? -1)
            }
            #expect(dependencies == row.dependencies, "\(name)")
            #expect(report["valid"] as? Bool == (row.crcOK == true && row.lengthExact == true), "\(name)")
        }
    }

    @Test("platforms lists the catalog and refuses unknown names")
    func platformsCommand() async throws {
        let all = try await OtabenchProcess.run(["platforms", "--json"])
        #expect(all.status == 0)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(all.standardOutput.utf8)) as? [[String: Any]])
        #expect(list.count == Platform.catalog.count)
        let unknown = try await OtabenchProcess.run(["platforms", "zebra"])
        #expect(unknown.status == 2)
        #expect(unknown.standardError.contains("no platform named zebra"))
    }
}
