import Foundation
import TestSupport
import Testing

@Suite("otabench power", .timeLimit(.minutes(10)))
struct PowerCommandTests {
    /// An inventory with one real board whose relay tool appends its arguments to a log.
    static func lab() throws -> (inventory: URL, calls: URL) {
        let folder = try temporaryFolder("otabench-power-cli")
        let calls = folder.appendingPathComponent("calls")
        let tool = folder.appendingPathComponent("relayctl")
        try "#!/bin/sh\necho \"$*\" >> '\(calls.path)'\necho \"relay: $1\"\n".write(to: tool, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        let inventory = folder.appendingPathComponent("lab.toml")
        try """
            [[board]]
            name = "argon-3"
            platform = "argon"
            emulated = false
            device-id = "e00fce68000c0000000000aa"
            power-on = ["\(tool.path)", "on", "--port", "3"]
            power-off = ["\(tool.path)", "off", "--port", "3"]
            power-timeout = 5

            [[board]]
            name = "boron-emulated"
            platform = "boron"
            """.write(to: inventory, atomically: true, encoding: .utf8)
        return (inventory, calls)
    }

    @Test("on, off and cycle run the inventory's commands with the board's name; status says what it can")
    func switches() async throws {
        let (inventory, calls) = try Self.lab()
        let on = try await OtabenchProcess.run(["power", "argon-3", "on", "--inventory", inventory.path])
        #expect(on.status == 0, "\(on.standardError)")
        #expect(on.standardOutput == "relay: on\nargon-3: power on; not on USB\n")
        let cycle = try await OtabenchProcess.run(["power", "argon-3", "cycle", "--off-time", "0.1", "--inventory", inventory.path])
        #expect(cycle.status == 0, "\(cycle.standardError)")
        #expect(try String(contentsOf: calls, encoding: .utf8) == "on --port 3 argon-3\noff --port 3 argon-3\non --port 3 argon-3\n")
        let status = try await OtabenchProcess.run(["power", "argon-3", "status", "--inventory", inventory.path])
        #expect(status.standardOutput.contains("argon-3: power unknown (a command switch cannot read the power back); not on USB"))
    }

    @Test("An emulated board, an unknown board and a failing command are told apart by message and exit status")
    func refusals() async throws {
        let (inventory, calls) = try Self.lab()
        let emulated = try await OtabenchProcess.run(["power", "boron-emulated", "off", "--inventory", inventory.path])
        #expect(emulated.status == 2)
        #expect(emulated.standardError.contains("is emulated"))
        let unknown = try await OtabenchProcess.run(["power", "nobody", "off", "--inventory", inventory.path])
        #expect(unknown.status == 2)
        for offTime in ["inf", "nan", "0", "1e19"] {
            let bad = try await OtabenchProcess.run(["power", "argon-3", "cycle", "--off-time", offTime, "--inventory", inventory.path])
            #expect(bad.status == 2 && bad.standardError.contains("--off-time must be a number of seconds above 0"), "\(offTime): \(bad.standardError)")
        }
        // The relay tool disappears: the command cannot run.
        try FileManager.default.removeItem(at: calls.deletingLastPathComponent().appendingPathComponent("relayctl"))
        let failed = try await OtabenchProcess.run(["power", "argon-3", "off", "--inventory", inventory.path])
        #expect(failed.status == 1)
        #expect(failed.standardError.contains("argon-3: power command"), "\(failed.standardError)")
    }

    @Test("The inventory checks power commands: both or neither, arrays of strings, real boards only")
    func inventoryChecks() async throws {
        let folder = try temporaryFolder("otabench-power-inv")
        let cases: [(String, String)] = [
            ("power-on = [\"relay\", \"on\"]\n", "power-on and power-off go together"),
            ("power-on = \"relay on\"\npower-off = [\"relay\"]\n", "must be a non-empty array of strings"),
        ]
        for (lines, message) in cases {
            let file = folder.appendingPathComponent("\(UUID().uuidString).toml")
            try "[[board]]\nname = \"a\"\nplatform = \"argon\"\nemulated = false\ndevice-id = \"e00fce68000c0000000000aa\"\n\(lines)"
                .write(to: file, atomically: true, encoding: .utf8)
            let result = try await OtabenchProcess.run(["power", "a", "on", "--inventory", file.path])
            #expect(result.status == 2)
            #expect(result.standardError.contains(message), "\(result.standardError)")
        }
        let emulated = folder.appendingPathComponent("emulated.toml")
        try "[[board]]\nname = \"a\"\nplatform = \"argon\"\npower-on = [\"r\"]\npower-off = [\"r\"]\n".write(to: emulated, atomically: true, encoding: .utf8)
        let result = try await OtabenchProcess.run(["power", "a", "on", "--inventory", emulated.path])
        #expect(result.standardError.contains("commands are for real boards"))
    }
}
