import ArgumentParser
import Bench
import Firmware
import Foundation

extension CloudCommand {
    struct Fleet: AsyncParsableCommand, LoggingCommand {
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

        @OptionGroup var logging: LoggingOptions

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
            do {
                let fleet = try await EmulatedFleet(count: count, platform: platform, product: product, appVersion: UInt16(appVersion),
                                                    credentials: credentials, deviceCloud: (String(address[..<colon]), port),
                                                    trustFolder: URL(fileURLWithPath: trustPath))
                StopSignals.watch()
                let summary = "fleet: \(count) \(platform.buildName) boards in product \(product), connecting to \(address); stop with Ctrl-C\n"
                FileHandle.standardOutput.write(Data(summary.utf8))
                let ended = await fleet.run(onAllConnected: { connected in
                    FileHandle.standardOutput.write(Data("fleet: all \(connected) boards connected\n".utf8))
                }, until: { await StopSignals.wait() })
                let lines = ended.versions.map { "fleet: \($0.boards) boards run \($0.version.map { "product version \($0)" } ?? "no product firmware")" }
                let refused = ended.refusals.map { "fleet: a board could not connect: \($0)" }
                FileHandle.standardOutput.write(Data((lines + refused).map { $0 + "\n" }.joined().utf8))
            } catch {
                reportError("cloud fleet: \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
    }
}
