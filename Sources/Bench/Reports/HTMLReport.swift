/// One self-contained HTML page: summary, platform × scenario matrix, failures with their
/// console logs, measurements. No scripts, no fonts, nothing fetched.
enum HTMLReport {
    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.5em}
        table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
        .passed{background:#d9f2d9}.failed,.running{background:#f8d0d0}.flaky,.unexpected-pass{background:#fff0b3}
        .known-failure{background:#e0e0f0}.not-applicable{background:#eee;color:#666}.not-run,.pending,.incomplete,.unfinished{background:#ffd9a8}
        .interrupted{background:#f0c090}pre{background:#f6f6f6;padding:8px;max-height:30em;overflow:auto}
        .verdict{font-size:1.3em;font-weight:bold}
        """

    static func render(_ report: RunReport) -> String {
        let statuses = ["passed", "failed", "flaky", "known-failure", "unexpected-pass", "not-run", "interrupted", "pending", "running",
                        "not-applicable"]
        // The colour of a matrix cell: its most severe case.
        let severity = ["not-applicable", "passed", "known-failure", "flaky", "unexpected-pass", "pending", "not-run", "interrupted",
                        "running", "failed"]
        var html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>otabench run \(report.run.id)</title>"
        html += "<style>\(style)</style></head><body>"
        html += "<h1>otabench run \(report.run.id)</h1>"
        html += "<p class=\"verdict \(report.verdict.rawValue.lowercased())\">\(report.verdict.rawValue)</p>"
            + "<p>\(escape(report.verdictReason))</p>"
        html += "<p>Started \(escape(report.run.started)) on \(escape(report.run.host)), otabench \(escape(report.run.version)); "
        html += report.run.finished.map { "finished \(escape($0))." } ?? "<strong>the run did not finish</strong>."
        html += "<br>Inventory: \(escape(report.run.inventory)). Arguments: <code>\(escape(report.run.arguments))</code></p>"
        html += "<table><tr>" + statuses.map { "<th class=\"\($0)\">\($0)</th>" }.joined() + "</tr><tr>"
        html += statuses.map { "<td>\(report.count($0))</td>" }.joined() + "</tr></table>"

        let platforms = Array(Set(report.cases.map(\.platform))).sorted()
        let scenarios = Array(Set(report.cases.map(\.id))).sorted()
        html += "<h2>Platform × scenario</h2><table><tr><th>scenario</th>" + platforms.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
        for scenario in scenarios {
            html += "<tr><td>\(escape(scenario))</td>"
            for platform in platforms {
                let cell = report.cases.filter { $0.id == scenario && $0.platform == platform }
                if cell.isEmpty {
                    html += "<td></td>"
                } else {
                    let worst = severity.reversed().first { status in cell.contains { $0.status == status } } ?? "passed"
                    html += "<td class=\"\(worst)\">\(worst)</td>"
                }
            }
            html += "</tr>"
        }
        html += "</table>"

        let problems = report.cases.filter { !["passed", "not-applicable"].contains($0.status) }
        if !problems.isEmpty {
            html += "<h2>Not passed</h2>"
            for item in problems {
                html += "<h3 class=\"\(item.status)\">\(escape(item.board)): \(escape(item.id)) — \(item.status)</h3>"
                if let message = item.message { html += "<p>\(escape(message))</p>" }
                if let issue = item.knownIssue { html += "<p>Known issue: \(escape(issue))</p>" }
                if !item.steps.isEmpty {
                    html += "<table><tr><th>step</th><th>status</th><th>s</th><th>message</th></tr>"
                    for step in item.steps {
                        html += "<tr class=\"\(step.status)\"><td>\(escape(step.name))</td><td>\(step.status)</td>"
                            + "<td>\(String(format: "%.3f", step.seconds))</td><td>\(escape(step.message ?? ""))</td></tr>"
                    }
                    html += "</table>"
                }
                if let console = item.console { html += "<details><summary>console</summary><pre>\(escape(console))</pre></details>" }
            }
        }
        let inapplicable = report.cases.filter { $0.status == "not-applicable" }
        if !inapplicable.isEmpty {
            html += "<details><summary>\(inapplicable.count) cases not applicable to their boards</summary><table><tr><th>board</th><th>case</th><th>why</th></tr>"
            for item in inapplicable {
                html += "<tr class=\"not-applicable\"><td>\(escape(item.board))</td><td>\(escape(item.id))</td><td>\(escape(item.message ?? ""))</td></tr>"
            }
            html += "</table></details>"
        }
        let measured = report.cases.flatMap { item in item.measurements.map { (item, $0) } }
        if !measured.isEmpty {
            html += "<h2>Measurements</h2><table><tr><th>board</th><th>scenario</th><th>measure</th><th>value</th><th>limits</th></tr>"
            for (item, measure) in measured {
                let limits = [measure.lower, measure.upper].map { $0.map { String($0) } ?? "" }.joined(separator: " … ")
                html += "<tr class=\"\(measure.withinLimits ? "passed" : "failed")\"><td>\(escape(item.board))</td><td>\(escape(item.id))</td>"
                    + "<td>\(escape(measure.name))</td><td>\(String(format: "%.4g", measure.value)) \(escape(measure.unit))</td><td>\(limits)</td></tr>"
            }
            html += "</table>"
        }
        html += "</body></html>\n"
        return html
    }
}
