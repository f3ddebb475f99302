import ArgumentParser
import Bench
import Firmware
import Foundation

extension CloudCommand {
    struct Serve: AsyncParsableCommand, LoggingCommand {
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

        @OptionGroup var logging: LoggingOptions

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
            let trustFolder = URL(fileURLWithPath: trust ?? URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("trust").path)
            let service: LocalCloudService
            do { service = try LocalCloudService(database: db, trustFolder: trustFolder, token: token) } catch {
                reportError("cloud serve: \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
            StopSignals.watch()
            let host = self.host, db = self.db
            do {
                try await service.run(host: host, apiPort: port, devicePort: devicePort, onRunning: { bound in
                    // Unbuffered, so a script reading the output sees the lines at once.
                    let lines = "PARTICLE_API_BASE_URL=http://\(host):\(bound.apiPort)\nPARTICLE_ACCESS_TOKEN=\(token)\n"
                        + "OTABENCH_DEVICE_CLOUD=\(host):\(bound.devicePort)\nOTABENCH_CLOUD_TRUST=\(trustFolder.path)\n"
                        + "serving the local cloud from \(db); stop with Ctrl-C\n"
                    FileHandle.standardOutput.write(Data(lines.utf8))
                }, until: { await StopSignals.wait() })
            } catch {
                reportError("cloud serve: \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
    }
}
