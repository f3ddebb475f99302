import Foundation
import TestSupport
import Testing

@Suite("otabench emulate --usb", .timeLimit(.minutes(10)))
struct EmulateCommandTests {
    @Test("Serves emulated boards to another process: dfu-util lists their DFU memories; the testbed goes on exit")
    func dfuUtilListsServedBoards() async throws {
        let server = Process()
        server.executableURL = OtabenchProcess.executable
        server.arguments = ["emulate", "--usb", "--platform", "boron", "--platform", "photon", "--dfu"]
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        var text = ""
        let reader = output.fileHandleForReading
        while !text.contains("serving") {
            let data = await reader.nextAvailable()
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let directory = try #require(text.split(separator: "\n").first { $0.hasPrefix("UMOCKDEV_DIR=") }?.dropFirst("UMOCKDEV_DIR=".count))
        #expect(text.contains("boron\t2b04:d00d\t"))

        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/dfu-util")
        client.arguments = ["-l"]
        client.environment = ["UMOCKDEV_DIR": String(directory), "LD_PRELOAD": "libumockdev-preload.so.0", "PATH": "/usr/bin:/bin"]
        let listing = Pipe()
        client.standardOutput = listing
        client.standardError = FileHandle.nullDevice
        try client.run()
        let listed = String(decoding: await listing.fileHandleForReading.readAll(), as: UTF8.self)
        await client.exited()
        #expect(listed.contains("[2b04:d00d]") && listed.contains("[2b04:d006]"), "\(listed)")
        #expect(listed.contains("name=\"@External Flash   /0x80000000/1024*004Kg\""))
        #expect(listed.contains("name=\"@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg\""))

        server.terminate()
        await server.exited()
        #expect(!FileManager.default.fileExists(atPath: String(directory)))
    }

    /// Starts `otabench emulate --usb` and returns it with the lines it printed.
    static func serve(_ arguments: [String]) async throws -> (Process, [String]) {
        try await OtabenchProcess.serve(["emulate", "--usb"] + arguments, ready: "serving")
    }

    @Test("otabench boards and otabench flash end to end over USB: guard, DFU entry, write, verify, back to normal")
    func boardsAndFlash() async throws {
        let (server, lines) = try await Self.serve(["--platform", "photon", "--platform", "boron"])
        defer { server.terminate(); server.waitUntilExit() }
        let directory = try #require(lines.first { $0.hasPrefix("UMOCKDEV_DIR=") }?.dropFirst("UMOCKDEV_DIR=".count))
        let photon = try #require(lines.first { $0.hasPrefix("photon\t") }?.split(separator: "\t").last.map(String.init))
        let environment = ["UMOCKDEV_DIR": String(directory), "LD_PRELOAD": "libumockdev-preload.so.0"]

        let boards = try await OtabenchProcess.run(["boards", "--json"], environment: environment)
        #expect(boards.status == 0, "\(boards.standardError)")
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(boards.standardOutput.utf8)) as? [[String: String]])
        #expect(Set(listed.compactMap { $0["platform"] }) == ["photon", "boron"])
        #expect(listed.allSatisfy { $0["mode"] == "normal" })

        let app = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-\(UUID().uuidString).bin")
        try Data(try SampleModules.userApp(for: SampleModules.platform("photon"), systemVersion: 3)).write(to: app)
        let flashed = try await OtabenchProcess.run(["flash", photon, app.path, "--dfu", "--verify"], environment: environment)
        #expect(flashed.status == 0, "\(flashed.standardError)")
        #expect(flashed.standardOutput.contains("verified"))

        // The guard: an image for another platform is refused before anything is written.
        let foreign = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-\(UUID().uuidString).bin")
        try Data(try SampleModules.userApp(for: SampleModules.platform("boron"), systemVersion: 5800)).write(to: foreign)
        let refused = try await OtabenchProcess.run(["flash", photon, foreign.path, "--dfu"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("wrong platform"))
        let after = try await OtabenchProcess.run(["boards"], environment: environment)
        #expect(after.standardOutput.contains("\(photon)\tphoton\tnormal"))
        #expect(try await OtabenchProcess.run(["flash", "ffffffffffffffffffffffff", app.path, "--dfu"], environment: environment).status == 2)
    }

    @Test("otabench run drives an inventory's real board over USB (served here by emulate --usb)")
    func runOverUSB() async throws {
        let (server, lines) = try await Self.serve(["--platform", "p2"])
        defer { server.terminate(); server.waitUntilExit() }
        let directory = try #require(lines.first { $0.hasPrefix("UMOCKDEV_DIR=") }?.dropFirst("UMOCKDEV_DIR=".count))
        let deviceID = try #require(lines.first { $0.hasPrefix("p2\t") }?.split(separator: "\t").last.map(String.init))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-usb-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let inventory = folder.appendingPathComponent("lab.toml")
        try "[[board]]\nname = \"bench-p2\"\nplatform = \"p2\"\nemulated = false\ndevice-id = \"\(deviceID)\"\n"
            .write(to: inventory, atomically: true, encoding: .utf8)
        let result = try await OtabenchProcess.run(
            ["run", "--inventory", inventory.path, "--scenario", "ota/happy-path", "--scenario", "guard/*", "--report-dir", folder.path,
             "--lease-dir", folder.appendingPathComponent("leases").path],
            environment: ["UMOCKDEV_DIR": String(directory), "LD_PRELOAD": "libumockdev-preload.so.0"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("[bench-p2] ota/happy-path: pass"))
        #expect(result.standardError.contains("[bench-p2] guard/wrong-platform-refused-by-device: pass"))
    }

    @Test("otabench info shows the module table; otabench reset moves the board between modes")
    func infoAndReset() async throws {
        let (server, lines) = try await Self.serve(["--platform", "argon"])
        defer { server.terminate(); server.waitUntilExit() }
        let directory = try #require(lines.first { $0.hasPrefix("UMOCKDEV_DIR=") }?.dropFirst("UMOCKDEV_DIR=".count))
        let argon = try #require(lines.first { $0.hasPrefix("argon\t") }?.split(separator: "\t").last.map(String.init))
        let environment = ["UMOCKDEV_DIR": String(directory), "LD_PRELOAD": "libumockdev-preload.so.0"]
        let info = try await OtabenchProcess.run(["info", argon], environment: environment)
        #expect(info.status == 0, "\(info.standardError)")
        #expect(info.standardOutput.contains("system module #1 - version 5800"))
        #expect(info.standardOutput.contains("Dependencies: PASS"))
        #expect(try await OtabenchProcess.run(["reset", argon, "--dfu"], environment: environment).standardOutput.contains("DFU"))
        #expect(try await OtabenchProcess.run(["boards"], environment: environment).standardOutput.contains("argon\tdfu"))
        let inDFU = try await OtabenchProcess.run(["info", argon], environment: environment)
        #expect(inDFU.status == 2)
        #expect(inDFU.standardError.contains("DFU mode"))
        #expect(try await OtabenchProcess.run(["reset", argon], environment: environment).standardOutput.contains("running"))
        #expect(try await OtabenchProcess.run(["reset", argon, "--dfu", "--safe"], environment: environment).status == 2)
    }

    @Test("otabench power switches a board's hub port (emulate --usb --hub): off, status, cycle; uhubctl sees the same hub")
    func powerThroughHub() async throws {
        let (server, lines) = try await Self.serve(["--platform", "boron", "--hub"])
        defer { server.terminate(); server.waitUntilExit() }
        let directory = try #require(lines.first { $0.hasPrefix("UMOCKDEV_DIR=") }?.dropFirst("UMOCKDEV_DIR=".count))
        let fields = try #require(lines.first { $0.hasPrefix("boron\t") }?.split(separator: "\t").map(String.init))
        #expect(fields.count == 4 && fields[3] == "hub 1-1 port 1", "\(fields)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let inventory = folder.appendingPathComponent("lab.toml")
        try "[[board]]\nname = \"boron-hub\"\nplatform = \"boron\"\nemulated = false\ndevice-id = \"\(fields[2])\"\npower-hub = \"1-1\"\npower-port = 1\n"
            .write(to: inventory, atomically: true, encoding: .utf8)
        let environment = ["UMOCKDEV_DIR": String(directory), "LD_PRELOAD": "libumockdev-preload.so.0"]
        func power(_ action: String, _ extra: [String] = []) async throws -> OtabenchProcess.Result {
            try await OtabenchProcess.run(["power", "boron-hub", action, "--inventory", inventory.path] + extra, environment: environment)
        }
        let off = try await power("off")
        #expect(off.status == 0, "\(off.standardError)")
        #expect(off.standardOutput.contains("boron-hub: power off (hub 1-1 port 1); not on USB"), "\(off.standardOutput)")
        #expect(try await power("status").standardOutput.contains("power off (hub 1-1 port 1)"))
        let cycled = try await power("cycle", ["--off-time", "0.2"])
        #expect(cycled.status == 0, "\(cycled.standardError)")
        #expect(cycled.standardOutput.contains("power on (hub 1-1 port 1); on USB (normal)"), "\(cycled.standardOutput)")
        try "[[board]]\nname = \"boron-hub\"\nplatform = \"boron\"\nemulated = false\ndevice-id = \"\(fields[2])\"\npower-hub = \"1-4\"\npower-port = 1\n"
            .write(to: inventory, atomically: true, encoding: .utf8)
        let missing = try await power("off")
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("USB hub 1-4 port 1: no hub there (hubs: 1-1, 2-1)"), "\(missing.standardError)")
    }

    @Test("Without a way to serve, emulate says so and exits 2")
    func needsATransport() async throws {
        let result = try await OtabenchProcess.run(["emulate"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("--usb"))
    }
}
