import ArgumentParser

/// Where a kind of run writes its reports unless told.
protocol ReportFolder {
    static var defaultFolder: String { get }
}

enum RunReports: ReportFolder { static let defaultFolder = "reports" }
enum QualificationReports: ReportFolder { static let defaultFolder = "reports/qualification" }

/// `--report-dir` and `--db`, for the commands that run cases and keep their results.
struct ResultsOptions<Folder: ReportFolder>: ParsableArguments {
    @Option(help: "Where the reports go.")
    var reportDir: String = Folder.defaultFolder

    @Option(help: "Results database, where earlier runs and qualifications are found (default: REPORT_DIR/results.sqlite).")
    var db: String?
}
