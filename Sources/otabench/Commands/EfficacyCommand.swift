import ArgumentParser
import Bench
import Foundation

struct EfficacyCommand: AsyncParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "efficacy",
        abstract: "Run every scenario against emulated boards with each seeded defect and show which scenarios catch which.",
        discussion: "Exits 0 when every defect is caught and every fault-probing scenario catches one, 1 otherwise."
    )

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var output: OutputOptions
    var json: Bool { output.json }

    func run() async throws {
        let matrix = try await Efficacy().run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(matrix) + Data("\n".utf8))
        } else {
            let width = (matrix.scenarios.map(\.count).max() ?? 10) + 2
            print("".padding(toLength: width, withPad: " ", startingAt: 0) + matrix.defects.joined(separator: "  "))
            for scenario in matrix.scenarios {
                var line = scenario.padding(toLength: width, withPad: " ", startingAt: 0)
                for defect in matrix.defects {
                    let mark = matrix.catches(scenario, defect) ? "caught" : "-"
                    line += mark.padding(toLength: defect.count + 2, withPad: " ", startingAt: 0)
                }
                print(line)
            }
            print("on emulated \(matrix.platforms.joined(separator: ", "))")
            for defect in matrix.uncaughtDefects { print("MISSED: no scenario catches \(defect)") }
            for scenario in matrix.probingScenariosCatchingNothing { print("WEAK: \(scenario) catches no defect") }
        }
        if !matrix.uncaughtDefects.isEmpty || !matrix.probingScenariosCatchingNothing.isEmpty {
            throw ExitStatus.checkFailed.exitCode
        }
    }
}
