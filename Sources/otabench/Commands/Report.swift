import ArgumentParser
import Bench
import Firmware
import Foundation

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a run from the results database as JUnit XML, JSON and HTML."
    )

    @Option(help: "The run to render (default: the newest).")
    var run: Int64?

    @Option(help: "Comma-separated formats: junit, json, html.")
    var format: String = "junit,json,html"

    @Option(help: "Where the reports go.")
    var out: String = "reports"

    @Option(help: "Results database (default: OUT/results.sqlite).")
    var db: String?

    func run() async throws {
        var formats: [ReportFormat] = []
        for name in format.split(separator: ",") {
            guard let value = ReportFormat(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                reportError("report: unknown format \(name); use junit, json, html")
                throw ExitStatus.couldNotRun.exitCode
            }
            formats.append(value)
        }
        let path = db ?? (out as NSString).appendingPathComponent("results.sqlite")
        do {
            let report = try ResultsStore(path: path, mustExist: true).report(run: run)
            for written in try ReportFormat.write(report, formats: formats, to: out) { print(written) }
        } catch {
            reportError("report: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
    }
}
