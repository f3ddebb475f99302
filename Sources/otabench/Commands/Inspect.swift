import ArgumentParser
import Firmware
import Foundation

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a firmware file is: platform, module, addresses, checksums, dependencies.",
        discussion: """
            Exits 0 when every file is a valid Particle module, 1 when any is not, 2 when a \
            file cannot be read at all.
            """
    )

    @OptionGroup var output: OutputOptions
    var json: Bool { output.json }

    @Argument(help: "Module binaries (.bin) to inspect.", completion: .file(extensions: ["bin"]))
    var files: [String]

    func run() async throws {
        var reports: [ModuleReport] = []
        var unreadable = false
        for file in files {
            do {
                reports.append(ModuleReport(file: file, moduleFile: try ModuleFile(contentsOf: file)))
            } catch .unreadable(let path, let reason) {
                reportError("inspect: cannot read \(path): \(reason); check the path")
                unreadable = true
            } catch {
                reports.append(ModuleReport(file: file, error: error))
            }
        }
        guard !unreadable else { throw ExitStatus.couldNotRun.exitCode }

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = reports.count == 1 ? try encoder.encode(reports[0]) : try encoder.encode(reports)
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } else {
            print(reports.map(\.humanSummary).joined(separator: "\n"))
        }
        if reports.contains(where: { !$0.valid }) { throw ExitStatus.checkFailed.exitCode }
    }
}
