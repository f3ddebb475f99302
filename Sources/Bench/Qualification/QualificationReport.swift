import Foundation

/// The qualification report for people: one self-contained HTML page (inline style and SVG, no
/// scripts, nothing fetched) with the verdict, the platform × scenario matrix, power-cut
/// coverage as a chart, timings, failures with their console logs, and provenance.
public enum QualificationReport {
    static let statuses = ["passed", "failed", "flaky", "known-failure", "unexpected-pass", "not-run", "interrupted", "running", "not-applicable"]
    static let colours = ["passed": "#3a9d3a", "failed": "#d03030", "running": "#d03030", "flaky": "#e0b000",
                          "unexpected-pass": "#e0b000", "known-failure": "#7070c0", "not-run": "#999999", "interrupted": "#c08040",
                          "not-applicable": "#dddddd"]

    public static func html(_ evidence: QualificationEvidence) -> String {
        let verdictClass = ["PASS": "passed", "FAIL": "failed", "INCOMPLETE": "incomplete"][evidence.verdict.rawValue] ?? "incomplete"
        var html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        html += "<title>Qualification of \(escape(evidence.release)): \(evidence.verdict.rawValue)</title>"
        html += "<style>\(HTMLReport.style).pill{display:inline-block;padding:2px 10px;border-radius:4px}</style></head><body>"
        html += "<h1>Qualification of \(escape(evidence.release))</h1>"
        html += "<p id=\"verdict\" class=\"verdict pill \(verdictClass)\" data-verdict=\"\(evidence.verdict.rawValue)\">\(evidence.verdict.rawValue)</p>"
        html += "<p>\(evidence.platforms.count) platforms: \(escape(evidence.platforms.joined(separator: ", "))); "
        html += "\(evidence.cases.count) cases, \(evidence.cases.filter { $0.status == "passed" }.count) passed.</p>"
        html += list("Why not PASS", evidence.reasons)
        html += list("Warnings", evidence.warnings)
        if let comparison = evidence.comparison {
            html += "<h2>Against \(escape(comparison.previousRelease)) (\(escape(comparison.previousDate)))</h2>"
            html += list("New failures", comparison.newFailures, empty: "No new failures.")
            html += list("Fixed", comparison.fixed, empty: "Nothing that failed before passes now.")
            html += list("Timings that moved more than \(Int(comparison.thresholdPercent))%", comparison.timingChanges,
                         empty: "No timing moved more than \(Int(comparison.thresholdPercent))%.")
        }
        html += matrix(evidence)
        html += powerCutChart(evidence)
        html += timings(evidence)
        html += failures(evidence)
        html += provenance(evidence)
        html += "</body></html>\n"
        return html
    }

    static func list(_ title: String, _ items: [String], empty: String? = nil) -> String {
        if items.isEmpty { return empty.map { "<h3>\(escape(title))</h3><p>\(escape($0))</p>" } ?? "" }
        return "<h3>\(escape(title))</h3><ul>" + items.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
    }

    static func matrix(_ evidence: QualificationEvidence) -> String {
        let scenarios = Array(Set(evidence.cases.map(\.scenario))).sorted()
        var html = "<h2>Platform × scenario</h2><table><tr><th>scenario</th>"
            + evidence.platforms.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
        for scenario in scenarios {
            html += "<tr><td>\(escape(scenario))</td>"
            for platform in evidence.platforms {
                let cell = evidence.cases.filter { $0.scenario == scenario && $0.platform == platform }
                guard !cell.isEmpty else { html += "<td>—</td>"; continue }
                let worst = statuses.reversed().first { status in cell.contains { $0.status == status } } ?? "passed"
                let passed = cell.filter { $0.status == "passed" }.count
                let text = cell.count == 1 ? worst
                    : Set(cell.map(\.status)).count == 1 ? "\(cell.count) \(worst)" : "\(passed)/\(cell.count) passed, worst \(worst)"
                html += "<td class=\"\(worst)\">\(text)</td>"
            }
            html += "</tr>"
        }
        return html + "</table>"
    }

    /// Each platform a row, each cut a dot at its point in the phase, coloured by outcome.
    static func powerCutChart(_ evidence: QualificationEvidence) -> String {
        guard !evidence.powerCuts.isEmpty else { return "<h2>Power-cut coverage</h2><p>No power cut was tried.</p>" }
        let rows = Array(Set(evidence.powerCuts.map { "\($0.platform) · \($0.scenario)" })).sorted()
        let left = 330.0, width = 500.0, rowHeight = 24.0
        let height = Double(rows.count) * rowHeight + 40
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"power-cut coverage\" width=\"\(Int(left + width + 20))\" height=\"\(Int(height))\">"
        for (index, row) in rows.enumerated() {
            let y = 20 + Double(index) * rowHeight
            svg += "<text x=\"0\" y=\"\(y + 4)\" font-size=\"12\">\(escape(row))</text>"
            svg += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + width)\" y2=\"\(y)\" stroke=\"#ccc\"/>"
            for cut in evidence.powerCuts where "\(cut.platform) · \(cut.scenario)" == row {
                let x = left + width * (cut.percent ?? 50) / 100
                let title = "\(cut.cut): \(cut.status)" + (cut.latencyMs.map { String(format: ", switch %.1f ms", $0) } ?? "")
                svg += "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"6\" fill=\"\(colours[cut.status] ?? "#999")\"><title>\(escape(title))</title></circle>"
            }
        }
        let axis = 20 + Double(rows.count) * rowHeight
        for tick in stride(from: 0, through: 100, by: 25) {
            svg += "<text x=\"\(left + width * Double(tick) / 100 - 8)\" y=\"\(axis)\" font-size=\"11\">\(tick)%</text>"
        }
        svg += "</svg>"
        var html = "<h2>Power-cut coverage</h2><p>Cut points through each phase, coloured by outcome: "
        html += ["passed", "known-failure", "flaky", "failed", "not-run"].map {
            "<span class=\"pill\" style=\"background:\(colours[$0]!);color:#fff\">\($0)</span>"
        }.joined(separator: " ") + "</p>" + svg
        html += "<table><tr><th>platform</th><th>cuts tried</th>" + statuses.map { "<th>\($0)</th>" }.joined() + "</tr>"
        for platform in evidence.platforms {
            let cuts = evidence.powerCuts.filter { $0.platform == platform }
            html += "<tr><td>\(escape(platform))</td><td>\(cuts.count)</td>"
                + statuses.map { status in "<td>\(cuts.filter { $0.status == status }.count)</td>" }.joined() + "</tr>"
        }
        return html + "</table>"
    }

    static func timings(_ evidence: QualificationEvidence) -> String {
        guard !evidence.timings.isEmpty else { return "" }
        var html = "<h2>Flash and OTA timings</h2><table><tr><th>platform</th><th>step</th><th>seconds</th></tr>"
        for timing in evidence.timings.sorted(by: { ($0.platform, $0.what) < ($1.platform, $1.what) }) {
            html += "<tr><td>\(escape(timing.platform))</td><td>\(escape(timing.what))</td><td>\(String(format: "%.3f", timing.seconds))</td></tr>"
        }
        return html + "</table>"
    }

    static func failures(_ evidence: QualificationEvidence) -> String {
        let problems = evidence.cases.filter { !["passed"].contains($0.status) }
        guard !problems.isEmpty else { return "" }
        var html = "<h2>Not passed</h2>"
        for item in problems {
            html += "<h3 class=\"\(item.status)\">\(escape(item.platform)) (\(escape(item.board))): \(escape(item.id)) — \(item.status)</h3>"
            if let message = item.message { html += "<p>\(escape(message))</p>" }
            if let issue = item.knownIssue { html += "<p>Known issue: \(escape(issue))</p>" }
            if let console = item.console, !console.isEmpty { html += "<details><summary>console</summary><pre>\(escape(console))</pre></details>" }
        }
        return html
    }

    static func provenance(_ evidence: QualificationEvidence) -> String {
        let source = evidence.provenance
        var html = "<h2>Provenance</h2><p>otabench \(escape(source.otabenchVersion)) on \(escape(source.host)), \(escape(source.date)); "
        html += "inventory \(escape(source.inventory)); run \(source.runId)"
        html += source.firmwareFolder.map { "; release images from \(escape($0))" } ?? "; images built by otabench"
        html += ".</p><h3>Boards</h3><table><tr><th>name</th><th>platform</th><th>device id</th><th>kind</th><th>quarantined</th></tr>"
        for board in source.boards {
            html += "<tr><td>\(escape(board.name))</td><td>\(escape(board.platform))</td><td><code>\(escape(board.deviceId))</code></td>"
                + "<td>\(board.emulated ? "emulated" : "real")</td><td>\(escape(board.quarantined ?? ""))</td></tr>"
        }
        html += "</table><h3>Images</h3><table><tr><th>platform</th><th>role</th><th>version</th><th>image</th><th>SHA-256</th></tr>"
        for image in source.images {
            html += "<tr><td>\(escape(image.platform))</td><td>\(escape(image.role))\(image.fromRelease ? " (release)" : "")</td>"
                + "<td>\(image.version.map(String.init) ?? "")</td><td>\(escape(image.label))</td><td><code>\(image.sha256)</code></td></tr>"
        }
        return html + "</table>"
    }
}
