import ArgumentParser
import Foundation
import LocalCloud

struct CloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud",
        abstract: "The local device cloud: Particle's cloud API subset for emulated fleets, without Particle's cloud.",
        subcommands: [Serve.self]
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

        func run() async throws {
            guard (0...65535).contains(port) else {
                reportError("cloud serve: --port must be 0…65535")
                throw ExitStatus.couldNotRun.exitCode
            }
            let token = self.token ?? ProcessInfo.processInfo.environment["OTABENCH_CLOUD_TOKEN"]
                ?? (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            let store: LocalCloudStore
            do { store = try LocalCloudStore(path: db) } catch {
                reportError("cloud serve: cannot open the database \(db): \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
            StopSignals.watch()
            let server = LocalCloudServer(store: store, token: token)
            let host = self.host
            // Serves until Ctrl-C, or ends at once when the server cannot start (the port taken).
            var outcome: (any Error)?
            do {
                try await server.run(host: host, port: port, onRunning: { bound in
                    // Unbuffered, so a script reading the output sees the lines at once.
                    let lines = "PARTICLE_API_BASE_URL=http://\(host):\(bound)\nPARTICLE_ACCESS_TOKEN=\(token)\n"
                        + "serving the local cloud from \(db); stop with Ctrl-C\n"
                    FileHandle.standardOutput.write(Data(lines.utf8))
                }, until: { await StopSignals.wait() })
            } catch { outcome = error }
            if let outcome {
                reportError("cloud serve: \(outcome)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
    }
}
