import ArgumentParser
import Cloud
import CloudOTA
import Emulator
import Firmware
import Foundation
import LocalCloud
import Logging

struct CloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud",
        abstract: "The local device cloud: Particle's cloud API subset for emulated fleets, without Particle's cloud.",
        subcommands: [Serve.self, Fleet.self]
    )

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the local device cloud until stopped (Ctrl-C).",
            discussion: """
                Answers the REST calls otabench's cloud client makes — products and their devices, device \\
                groups, product firmware upload, releases to the product or to groups, a device's firmware \\
                state, flashing one device, the event stream — from a SQLite database, so a restart loses \\
                nothing. Prints PARTICLE_API_BASE_URL and PARTICLE_ACCESS_TOKEN for clients: the same \\
                variables that point the client at Particle's own cloud.
                """
        )

        @Option(help: "Port to listen on (0: any free port).")
        var port: Int = 8090

        @Option(help: "Address to listen on. Loopback by default; anything else exposes the cloud to the network.")
        var host: String = "127.0.0.1"

        @Option(help: "The state database.")
        var db: String = "reports/cloud/cloud.sqlite"

        @Option(help: "The access token clients must send (default: $OTABENCH_CLOUD_TOKEN, else a new random one).")
        var token: String?

        @Option(help: "Port devices connect to (0: any free port).")
        var devicePort: Int = 5684

        @Option(help: "Folder with the cloud's certificate and the device authority (default: next to --db).")
        var trust: String?

        func run() async throws {
            guard (0...65535).contains(port), (0...65535).contains(devicePort) else {
                reportError("cloud serve: --port and --device-port must be 0…65535")
                throw ExitStatus.couldNotRun.exitCode
            }
            let token = self.token ?? ProcessInfo.processInfo.environment["OTABENCH_CLOUD_TOKEN"]
                ?? (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            let store: LocalCloudStore
            do { store = try LocalCloudStore(path: db) } catch {
                reportError("cloud serve: cannot open the database \(db): \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
            let trustFolder = URL(fileURLWithPath: trust ?? URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("trust").path)
            let cloudTrust: CloudTrust
            do { cloudTrust = try CloudTrust.loadOrCreate(in: trustFolder) } catch {
                reportError("cloud serve: \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
            StopSignals.watch()
            let events = EventHub()
            let gateway = DeviceGateway(store: store, events: events, trust: cloudTrust)
            var server = LocalCloudServer(store: store, token: token, events: events)
            server.gateway = gateway
            let host = self.host, port = self.port, devicePort = self.devicePort, db = self.db, api = server
            // Both sides serve until Ctrl-C; either failing to start (a port taken) ends both.
            var outcome: (any Error)?
            do {
                let (devicePorts, deviceBound) = AsyncStream.makeStream(of: Int.self)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do { try await gateway.run(host: host, port: devicePort) { deviceBound.yield($0) } } catch {
                            deviceBound.finish()
                            throw error
                        }
                    }
                    var iterator = devicePorts.makeAsyncIterator()
                    guard let boundDevicePort = await iterator.next() else {
                        try await group.waitForAll()
                        return
                    }
                    group.addTask {
                        try await api.run(host: host, port: port, onRunning: { bound in
                            // Unbuffered, so a script reading the output sees the lines at once.
                            let lines = "PARTICLE_API_BASE_URL=http://\(host):\(bound)\nPARTICLE_ACCESS_TOKEN=\(token)\n"
                                + "OTABENCH_DEVICE_CLOUD=\(host):\(boundDevicePort)\nOTABENCH_CLOUD_TRUST=\(trustFolder.path)\n"
                                + "serving the local cloud from \(db); stop with Ctrl-C\n"
                            FileHandle.standardOutput.write(Data(lines.utf8))
                        }, until: { await StopSignals.wait() })
                    }
                    // The REST side ends at Ctrl-C (or at once if it cannot start): the devices' side with it.
                    try await group.next()
                    group.cancelAll()
                    try await group.waitForAll()
                }
            } catch { outcome = error }
            if let outcome {
                reportError("cloud serve: \(outcome)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
    }

    struct Fleet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a fleet of emulated boards connected to a local cloud until stopped (Ctrl-C).",
            discussion: """
                Makes COUNT emulated boards of one platform, adds them to --product through the cloud API \
                (PARTICLE_API_BASE_URL and PARTICLE_ACCESS_TOKEN, as `otabench cloud serve` prints them), \
                provisions each with its own certificate from the cloud's device authority (--trust) and \
                keeps each connected to the cloud's device port, as Device OS does: again after every \
                reset, not while it is off. Releases made through the API reach them. At Ctrl-C it prints \
                how many boards run each product firmware version.
                """
        )

        @Option(help: "How many boards.")
        var count: Int = 10

        @Option(help: "Their platform.")
        var platform: String = "boron"

        @Option(help: "The product they join.")
        var product: String = "otabench-fleet"

        @Option(help: "The product firmware version of the app they start with.")
        var appVersion: Int = 1

        @Option(help: "The cloud's device side, HOST:PORT (default: $OTABENCH_DEVICE_CLOUD).")
        var deviceCloud: String?

        @Option(help: "The cloud's trust folder (default: $OTABENCH_CLOUD_TRUST).")
        var trust: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard (1...5000).contains(count), (1...65535).contains(appVersion) else {
                reportError("cloud fleet: --count must be 1…5000 and --app-version 1…65535")
                throw ExitStatus.couldNotRun.exitCode
            }
            guard let platform = Platform(buildName: self.platform) else {
                reportError("cloud fleet: unknown platform \(self.platform)")
                throw ExitStatus.couldNotRun.exitCode
            }
            guard let credentials = CloudCredentials.fromEnvironment(),
                  let address = deviceCloud ?? environment["OTABENCH_DEVICE_CLOUD"], let trustPath = trust ?? environment["OTABENCH_CLOUD_TRUST"],
                  let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...])
            else {
                reportError("cloud fleet: needs PARTICLE_API_BASE_URL, PARTICLE_ACCESS_TOKEN, --device-cloud HOST:PORT and --trust DIR (otabench cloud serve prints them)")
                throw ExitStatus.couldNotRun.exitCode
            }
            let endpoint = DeviceCloudEndpoint(host: String(address[..<colon]), port: port)
            do {
                let cloudTrust = try CloudTrust.load(from: URL(fileURLWithPath: trustPath))
                var firmware = try FirmwareSet.standard(for: platform)
                firmware.application = try FirmwareSet.application(for: platform, size: 24 << 10, seed: UInt64(appVersion),
                                                                   product: .init(id: 4242, version: UInt16(appVersion)))
                let base = try BoardModel.provisioned(platform: platform, firmware: firmware)
                let ids = (1...count).map { BoardModel.defaultDeviceID(platform, serial: 0x100000 + $0) }
                try await CloudClient(credentials: credentials).addDevices(product: product, ids)
                let boards = ids.map { EmulatedBoard(base.cloned(deviceID: $0, defects: [])) }
                let connections = try zip(ids, boards).map { id, board in
                    EmulatedCloudConnection(board: board, client: try DeviceCloudClient(credentials: try cloudTrust.provisionDevice(id), endpoint: endpoint))
                }
                StopSignals.watch()
                let summary = "fleet: \(count) \(platform.buildName) boards in product \(product), connecting to \(address); stop with Ctrl-C\n"
                FileHandle.standardOutput.write(Data(summary.utf8))
                await withTaskGroup(of: Void.self) { group in
                    for connection in connections { group.addTask { await connection.run() } }
                    group.addTask {
                        // Says once when every board is connected, so a script can wait for it.
                        while !Task.isCancelled, !connections.allSatisfy({ $0.sessionCount > 0 && $0.isConnected }) {
                            try? await Task.sleep(for: .milliseconds(100))
                        }
                        if !Task.isCancelled { FileHandle.standardOutput.write(Data("fleet: all \(connections.count) boards connected\n".utf8)) }
                    }
                    await StopSignals.wait()
                    group.cancelAll()
                }
                var versions: [Int?: Int] = [:]
                for board in boards { versions[await board.update { $0.runningProductVersion }, default: 0] += 1 }
                let lines = versions.sorted { ($0.key ?? -1) < ($1.key ?? -1) }
                    .map { "fleet: \($0.value) boards run \($0.key.map { "product version \($0)" } ?? "no product firmware")" }
                let refused = connections.compactMap(\.lastError).map { "fleet: a board could not connect: \($0)" }
                FileHandle.standardOutput.write(Data((lines + Array(Set(refused))).map { $0 + "\n" }.joined().utf8))
            } catch {
                reportError("cloud fleet: \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
    }
}
