import Emulator
import Firmware
import Foundation
import TestSupport
import Testing

@Suite("otabench cloud serve", .timeLimit(.minutes(10)))
struct CloudCommandTests {
    @Test("Serves on loopback, prints the client's environment, answers curl, stops cleanly at SIGINT; a taken port is exit 2")
    func serve() async throws {
        let folder = try temporaryFolder("cloud-serve")
        let (server, lines) = try await OtabenchProcess.serve(
            ["cloud", "serve", "--port", "0", "--device-port", "0", "--db", folder.appendingPathComponent("cloud.sqlite").path, "--token", "t0ken"],
            ready: "serving the local cloud")
        let base = try #require(lines.first { $0.hasPrefix("PARTICLE_API_BASE_URL=http://127.0.0.1:") }?.dropFirst("PARTICLE_API_BASE_URL=".count))
        #expect(lines.contains("PARTICLE_ACCESS_TOKEN=t0ken"))

        let answer = try await ToolProcess.run("/usr/bin/curl", ["-s", "-w", " %{http_code}", "-H", "Authorization: Bearer t0ken", "\(base)/v1/products/none/groups"])
        #expect(answer.output == "{\"error\":\"not_found\",\"error_description\":\"no product none\",\"ok\":false} 404", "\(answer.output)")
        let port = try #require(base.split(separator: ":").last.map(String.init))
        let taken = try await OtabenchProcess.run(["cloud", "serve", "--port", port, "--device-port", "0", "--db", folder.appendingPathComponent("other.sqlite").path])
        #expect(taken.status == 2 && taken.standardError.contains("Address already in use"), "\(taken.standardError)")
        let devicePort = try #require(lines.first { $0.hasPrefix("OTABENCH_DEVICE_CLOUD=") }?.split(separator: ":").last.map(String.init))
        let takenDevices = try await OtabenchProcess.run(["cloud", "serve", "--port", "0", "--device-port", devicePort, "--db",
                                                    folder.appendingPathComponent("third.sqlite").path])
        #expect(takenDevices.status == 2 && takenDevices.standardError.contains("Address already in use"), "\(takenDevices.standardError)")

        server.interrupt()
        await server.exited()
        #expect(server.terminationStatus == 0)
    }

    @Test("A fleet of emulated boards in another process connects to a served cloud over TLS and takes an immediate release made with curl")
    func fleetAgainstServedCloud() async throws {
        let folder = try temporaryFolder("cloud-fleet")
        let trust = folder.appendingPathComponent("trust").path
        let (server, lines, _) = try await OtabenchProcess.serve(
            ["cloud", "serve", "--port", "0", "--device-port", "0", "--db", folder.appendingPathComponent("cloud.sqlite").path, "--token", "fl33t",
             "--trust", trust],
            ready: "serving the local cloud", environment: [:])
        defer { server.interrupt(); server.waitUntilExit() }
        let base = try #require(lines.first { $0.hasPrefix("PARTICLE_API_BASE_URL=") }?.dropFirst("PARTICLE_API_BASE_URL=".count))
        let deviceCloud = try #require(lines.first { $0.hasPrefix("OTABENCH_DEVICE_CLOUD=127.0.0.1:") }?.dropFirst("OTABENCH_DEVICE_CLOUD=".count))
        #expect(lines.contains("OTABENCH_CLOUD_TRUST=\(trust)"))
        let keyMode = try FileManager.default.attributesOfItem(atPath: trust + "/device-authority.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let environment = ["PARTICLE_API_BASE_URL": String(base), "PARTICLE_ACCESS_TOKEN": "fl33t",
                           "OTABENCH_DEVICE_CLOUD": String(deviceCloud), "OTABENCH_CLOUD_TRUST": trust]

        let (fleet, _, fleetOutput) = try await OtabenchProcess.serve(["cloud", "fleet", "--count", "5", "--product", "cli-fleet"],
                                                                ready: "boards connected", environment: environment)
        let app = folder.appendingPathComponent("v2.bin")
        try Data(try FirmwareSet.application(for: Platform(buildName: "boron")!, size: 30_000, seed: 2, product: .init(id: 4242, version: 2))).write(to: app)
        let upload = try await ToolProcess.run("/usr/bin/curl", ["-s", "-w", " %{http_code}", "-H", "Authorization: Bearer fl33t",
                                                           "-F", "version=2", "-F", "title=v2", "-F", "binary=@\(app.path)",
                                                           "\(base)/v1/products/cli-fleet/firmware"])
        #expect(upload.output.hasSuffix(" 201"), "\(upload.output)")
        let release = try await ToolProcess.run("/usr/bin/curl", ["-s", "-w", " %{http_code}", "-X", "PUT", "-H", "Authorization: Bearer fl33t",
                                                            "-H", "Content-Type: application/json",
                                                            "-d", #"{"version":2,"product_default":true,"intelligent":true}"#,
                                                            "\(base)/v1/products/cli-fleet/firmware/release"])
        #expect(release.output.hasSuffix(" 200"), "\(release.output)")
        // The cloud learns each board's version from its hello after the update's reset.
        let ids = (1...5).map { BoardModel.defaultDeviceID(Platform(buildName: "boron")!, serial: 0x100000 + $0) }
        let deadline = Date().addingTimeInterval(60)
        var updated = 0
        while updated < 5, Date() < deadline {
            updated = 0
            for id in ids {
                let state = try await ToolProcess.run("/usr/bin/curl", ["-s", "-H", "Authorization: Bearer fl33t", "\(base)/v1/products/cli-fleet/devices/\(id)"])
                if state.output.contains(#""firmware_version":2"#) { updated += 1 }
            }
            if updated < 5 { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(updated == 5)
        fleet.interrupt()
        let rest = String(decoding: await fleetOutput.readAll(), as: UTF8.self)
        await fleet.exited()
        #expect(fleet.terminationStatus == 0)
        #expect(rest.contains("fleet: 5 boards run product version 2"), "\(rest)")

        // A trust folder that is not a cloud's: said so, exit 2.
        let wrong = try await OtabenchProcess.run(["cloud", "fleet", "--count", "1", "--trust", folder.path, "--device-cloud", String(deviceCloud)],
                                            environment: environment)
        #expect(wrong.status == 2 && wrong.standardError.contains("not a cloud's trust folder"), "\(wrong.standardError)")
    }

    @Test("particle-api-js, Particle's own REST client, unchanged against the served cloud: account, devices, firmware, locks, releases, streams, publishing",
          .enabled(if: ParticlePeers.enabled))
    func particleAPIJS() async throws {
        let folder = try temporaryFolder("cloud-api-js")
        let (server, lines) = try await OtabenchProcess.serve(
            ["cloud", "serve", "--port", "0", "--device-port", "0", "--db", folder.appendingPathComponent("cloud.sqlite").path, "--token", "j5-t0ken"],
            ready: "serving the local cloud")
        defer { server.interrupt(); server.waitUntilExit() }
        let base = try #require(lines.first { $0.hasPrefix("PARTICLE_API_BASE_URL=") }?.dropFirst("PARTICLE_API_BASE_URL=".count))
        let module = folder.appendingPathComponent("v2.bin")
        try Data(try FirmwareSet.application(for: Platform(buildName: "boron")!, size: 30_000, seed: 2, product: .init(id: 4242, version: 2)))
            .write(to: module)
        let run = try await ParticlePeers.run(ParticlePeers.script("cloud-api.js"), ["api-js", "e00fce68000d0000000000aa", module.path],
                                              environment: ["PARTICLE_API_BASE_URL": String(base), "PARTICLE_ACCESS_TOKEN": "j5-t0ken"])
        #expect(run.status == 0 && !run.standardOutput.contains("FAIL"), "\(run.standardOutput)\n\(run.standardError)")
        // Every step ran: the script stops at the first failure, and a step left out is no pass.
        #expect(run.lines.filter { $0.hasPrefix("ok ") }.count == 28, "\(run.standardOutput)")
    }

    /// pyparticleio, spyrk and particle-wait, from PyPI (Scripts/setup installs them); under CI
    /// their absence is a failure, not a skip.
    static let pythonClientsInstalled: Bool = {
        if ProcessInfo.processInfo.environment["CI"] == "true" { return true }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import pyparticleio, spyrk, particlewait"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    @Test("The PyPI clients unchanged against the served cloud: pyparticleio lists, subscribes and publishes, spyrk logs in and lists, particle-wait sees an event",
          .enabled(if: pythonClientsInstalled))
    func pythonClients() async throws {
        let folder = try temporaryFolder("cloud-python")
        let (server, lines) = try await OtabenchProcess.serve(
            ["cloud", "serve", "--port", "0", "--device-port", "0", "--db", folder.appendingPathComponent("cloud.sqlite").path, "--token", "py-t0ken"],
            ready: "serving the local cloud")
        defer { server.interrupt(); server.waitUntilExit() }
        let base = try #require(lines.first { $0.hasPrefix("PARTICLE_API_BASE_URL=") }?.dropFirst("PARTICLE_API_BASE_URL=".count))
        let device = "e00fce68000d0000000000bb"
        let added = try await ToolProcess.run("/usr/bin/curl", ["-s", "-w", " %{http_code}", "-H", "Authorization: Bearer py-t0ken", "-d", "id=\(device)",
                                                          "\(base)/v1/products/py/devices"])
        #expect(added.output.hasSuffix(" 200"), "\(added.output)")
        let module = folder.appendingPathComponent("app.bin")
        try Data(try FirmwareSet.application(for: Platform(buildName: "boron")!, size: 20_000, seed: 3, product: .init(id: 4242, version: 3)))
            .write(to: module)
        // The script bounds its own waits (30 s each); the test's time limit bounds the rest.
        let run = try await ToolProcess.run("/usr/bin/env", ["PARTICLE_API_BASE_URL=\(base)", "PARTICLE_ACCESS_TOKEN=py-t0ken", "python3",
                                                       ParticlePeers.script("cloud-python.py"), device, module.path])
        #expect(run.status == 0 && !run.output.contains("FAIL"), "\(run.output)")
        for step in ["pyparticleio's published event arrives on its subscription", "the event's data, ttl and coreid", "spyrk reads a device by its name",
                     "particle-wait sees the device's event"] {
            #expect(run.output.contains("ok \(step)\n"), "\(step): \(run.output)")
        }
    }
}
