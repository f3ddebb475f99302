import Foundation
import NIOConcurrencyHelpers

/// What the runner tells a person while it works: one line per finished case on stderr,
/// and on a terminal a status line kept up to date.
public final class ProgressReporter: Sendable {
    private let output: FileHandle?
    private let live: Bool
    private let state = NIOLockedValueBox((done: 0, total: 0, failed: 0))

    public init(output: FileHandle?, live: Bool = false) {
        self.output = output
        self.live = live
    }

    /// stderr, live when it is a terminal.
    public static var standardError: ProgressReporter {
        ProgressReporter(output: .standardError, live: isatty(STDERR_FILENO) == 1)
    }

    func begin(total: Int) {
        state.withLockedValue { $0 = (0, total, 0) }
        write("running \(total) cases\n")
    }

    func caseEnded(_ result: CaseResult) {
        let (done, total, failed) = state.withLockedValue { value -> (Int, Int, Int) in
            value.done += 1
            if result.status.failsRun { value.failed += 1 }
            return (value.done, value.total, value.failed)
        }
        let mark = switch result.status {
        case .passed: "pass"
        case .flaky: "FLAKY"
        case .failed: "FAIL"
        case .knownFailure: "known"
        case .unexpectedPass: "UNEXPECTED PASS"
        case .notRun: "NOT RUN"
        case .notApplicable: "n/a"
        case .pending: "pending"
        case .interrupted: "INTERRUPTED"
        case .running: "?"
        }
        var line = "[\(result.board)] \(result.id): \(mark) (\(String(format: "%.2f", result.seconds)) s)"
        if let message = result.message, result.status != .passed { line += " — \(message)" }
        let status = live ? "\u{1B}[2K\r" : ""
        write(status + line + "\n" + (live ? "\(done)/\(total) cases, \(failed) failed\r" : ""))
    }

    func note(_ text: String) { write((live ? "\u{1B}[2K\r" : "") + text + "\n") }

    func end(_ summary: RunSummary) {
        let parts = CaseStatus.allCases.compactMap { status -> String? in
            let count = summary.count(status)
            return count > 0 ? "\(count) \(status.rawValue)" : nil
        }
        let statuses = summary.results.map(\.status)
        write((live ? "\u{1B}[2K\r" : "") + "\(summary.results.count) cases in \(String(format: "%.1f", summary.seconds)) s: \(parts.joined(separator: ", "))\n"
              + "\(summary.verdict.rawValue): \(RunVerdict.reason(statuses, verdict: summary.verdict))\n")
    }

    private func write(_ text: String) {
        output?.write(Data(text.utf8))
    }
}
