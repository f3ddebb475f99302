import Foundation

/// The three renderings of a run: JUnit XML for CI servers, JSON with everything, and a
/// self-contained HTML page for people.
public enum ReportFormat: String, CaseIterable, Sendable {
    case junit, json, html

    public var fileName: String {
        switch self {
        case .junit: "junit.xml"
        case .json: "report.json"
        case .html: "report.html"
        }
    }

    public func render(_ report: RunReport) throws -> String {
        switch self {
        case .junit: JUnitReport.render(report)
        case .json: try JSONReport.render(report)
        case .html: HTMLReport.render(report)
        }
    }

    /// Writes the formats into `folder`, each replacing the old file in one rename; returns the paths written.
    public static func write(_ report: RunReport, formats: [ReportFormat], to folder: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try formats.map { format in
            let path = (folder as NSString).appendingPathComponent(format.fileName)
            try AtomicFile.write(Array(try format.render(report).utf8), to: path)
            return path
        }
    }
}

enum JSONReport {
    static func render(_ report: RunReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }
}

/// JUnit XML as Jenkins, GitLab and GitHub read it: one testsuite per board, one testcase
/// per scenario case; failures carry the message and the console; a pass after reruns
/// carries Surefire's flakyFailure elements; known failures are skipped with their reason.
enum JUnitReport {
    static func render(_ report: RunReport) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        let failures = report.cases.filter { $0.status == "failed" }.count
        // A run that is not green says so in a case of its own, so a CI server that reads only
        // the counts cannot show an incomplete, interrupted or unfinished run as passing.
        let verdictCase = report.verdict == .passed || report.verdict == .failed ? 0 : 1
        let errors = report.cases.filter { errorStatuses.contains($0.status) }.count + verdictCase
        let skipped = report.cases.filter { skippedStatuses.contains($0.status) }.count
        let total = report.cases.reduce(0) { $0 + $1.seconds }
        xml += #"<testsuites name="otabench" tests="\#(report.cases.count + verdictCase)" failures="\#(failures)" errors="\#(errors)" skipped="\#(skipped)" time="\#(seconds(total))">"# + "\n"
        if verdictCase == 1 {
            xml += "  <testsuite name=\"otabench run \(report.run.id)\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\""
                + " timestamp=\"\(escape(report.run.started))\" hostname=\"\(escape(report.run.host))\">\n"
                + "    <testcase classname=\"otabench\" name=\"run verdict\" time=\"0.000\">\n"
                + "      <error message=\"\(escape("\(report.verdict.rawValue): \(report.verdictReason)"))\" type=\"\(report.verdict.rawValue.lowercased())\"/>\n"
                + "    </testcase>\n  </testsuite>\n"
        }
        let boards = Dictionary(grouping: report.cases, by: \.board)
        for board in boards.keys.sorted() {
            let cases = boards[board]!
            let platform = cases.first?.platform ?? ""
            xml += "  <testsuite name=\"\(escape(board))\" tests=\"\(cases.count)\" failures=\"\(cases.filter { $0.status == "failed" }.count)\""
                + " errors=\"\(cases.filter { errorStatuses.contains($0.status) }.count)\""
                + " skipped=\"\(cases.filter { skippedStatuses.contains($0.status) }.count)\""
                + " time=\"\(seconds(cases.reduce(0) { $0 + $1.seconds }))\" timestamp=\"\(escape(report.run.started))\" hostname=\"\(escape(report.run.host))\">\n"
            for item in cases {
                xml += "    <testcase classname=\"\(escape("\(platform).\(board)"))\" name=\"\(escape(item.id))\" time=\"\(seconds(item.seconds))\">\n"
                switch item.status {
                case "failed":
                    xml += "      <failure message=\"\(escape(item.message ?? "failed"))\" type=\"failure\">\(escape(item.message ?? ""))</failure>\n"
                case "running":
                    xml += "      <error message=\"interrupted: the run ended while this case ran\" type=\"interrupted\"/>\n"
                case "interrupted":
                    xml += "      <error message=\"\(escape(item.message ?? "interrupted"))\" type=\"interrupted\"/>\n"
                case "not-run", "not-applicable":
                    xml += "      <skipped message=\"\(escape(item.message ?? item.status))\"/>\n"
                case "pending":
                    xml += "      <skipped message=\"not run: the run had not reached this case when this report was written\"/>\n"
                case "known-failure":
                    xml += "      <skipped message=\"\(escape("known issue: \(item.knownIssue ?? "") — \(item.message ?? "")"))\"/>\n"
                default:
                    break
                }
                for rerun in item.reruns where item.status == "flaky" {
                    xml += "      <flakyFailure message=\"\(escape(rerun.message ?? "failed"))\" type=\"failure\"/>\n"
                }
                if item.status == "unexpected-pass" {
                    xml += "      <properties><property name=\"otabench.status\" value=\"unexpected-pass\"/></properties>\n"
                }
                if let console = item.console, item.status != "passed" {
                    xml += "      <system-out>\(escape(console))</system-out>\n"
                }
                xml += "    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }
    static let errorStatuses: Set<String> = ["running", "interrupted"]
    static let skippedStatuses: Set<String> = ["not-run", "not-applicable", "pending", "known-failure"]
}

/// Escapes text for XML and HTML; drops characters XML 1.0 cannot carry.
func escape(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&apos;"
        case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
        default:
            if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { continue }
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}
