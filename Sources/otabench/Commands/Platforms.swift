import ArgumentParser
import Firmware
import Foundation

struct Platforms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the platforms otabench knows: ids, USB ids, flash and module slots."
    )

    @OptionGroup var output: OutputOptions
    var json: Bool { output.json }

    @Argument(help: "Show only these platforms (build name such as boron, or numeric id).")
    var names: [String] = []

    func run() async throws {
        var selected: [Platform] = []
        for name in names {
            guard let platform = Platform.named(name) else {
                let known = Platform.catalog.map(\.buildName).joined(separator: ", ")
                reportError("platforms: no platform named \(name); known: \(known)")
                throw ExitStatus.couldNotRun.exitCode
            }
            selected.append(platform)
        }
        if selected.isEmpty { selected = Platform.catalog }

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(selected.map(PlatformReport.init))
            FileHandle.standardOutput.write(data + Data("\n".utf8))
            return
        }
        for platform in selected {
            print(PlatformReport(platform).humanSummary)
        }
    }
}
