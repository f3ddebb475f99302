import ArgumentParser
import Bench
import Firmware
import Foundation

struct Qualify: AsyncParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Qualify a firmware release on every platform of an inventory, with a report and signed evidence.",
        discussion: """
            Runs every scenario tagged qualification on every board (one rerun for a failed case, so \\
            flaky cases show), with the release's images: each file in --firmware is inspected, and per \\
            platform the newest user app is the release's app, an older one the app it replaces, the \\
            newest system part the release's Device OS. Without --firmware, emulated boards are tested \\
            with images otabench builds.

            The verdict is PASS when every required case passed on every platform (a failure a known \\
            issue predicts for a platform is listed, not held against the release), FAIL when one \\
            failed, INCOMPLETE when something required did not run. Writes REPORT_DIR/qualification.html \\
            and qualification.json (and qualification.json.sig with --key), compares with the previous \\
            qualification on the same inventory, and exits 0, 1 or 3 for PASS, FAIL or INCOMPLETE.
            """
    )

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var inventoryFile: InventoryOptions
    var inventory: String? { inventoryFile.inventory }

    @OptionGroup var results: ResultsOptions<QualificationReports>
    var reportDir: String { results.reportDir }
    var db: String? { results.db }

    @OptionGroup var lease: LeaseOptions

    @Option(help: "The release's name, as the report shows it.")
    var release: String

    @Option(help: "A folder of the release's module binaries (.bin).")
    var firmware: String?

    @Option(help: "Ed25519 private key (PEM) to sign the evidence with (otabench keygen makes one).")
    var key: String?

    @Option(help: "Boards run at once.")
    var jobs: Int = 4

    @Option(help: "Timings that move by more than this percentage against the previous qualification are listed.")
    var timingThreshold: Double = 25

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1 (boards run at once), not \(jobs)") }
    }

    func run() async throws {
        let inventory = try BenchSetup.inventory(self.inventory, verb: "qualify")
        let privateKey: String?
        do { privateKey = try key.map { try String(contentsOfFile: $0, encoding: .utf8) } } catch {
            reportError("qualify: cannot read the key \(key!): \(error.localizedDescription)")
            throw ExitStatus.couldNotRun.exitCode
        }
        if let privateKey {
            // A bad key is refused before hours of testing, not after.
            do { _ = try EvidenceSignature.sign([], privateKeyPEM: privateKey) } catch {
                reportError("qualify: \(key!): \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
        let releaseFirmware: ReleaseFirmware?
        do { releaseFirmware = try firmware.map { try ReleaseFirmware(folder: $0) } } catch {
            reportError("qualify: firmware: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        var boards = try BenchSetup.boards(inventory, reportDir: reportDir, verb: "qualify")
        if let releaseFirmware { boards = boards.map { $0.using(releaseFirmware) } }

        try RunDriver.checkWritable(reportDir, verb: "qualify")
        let store = try BenchSetup.store(db, reportDir: reportDir, verb: "qualify")
        var options = RunOptions()
        options.tags = [.qualification]
        options.retries = 1
        options.jobs = jobs
        options.leaseDirectory = lease.directory
        let runner = Runner(boards: boards, store: store, options: options, progress: .standardError)
        let outcome = try await RunDriver(runner: runner, store: store, reportDir: reportDir, verb: "qualify")
            .drive(arguments: ["qualify"] + CommandLine.arguments.dropFirst(2), inventory: inventory.source)
        let report = outcome.report
        let runID = report.run.id

        var evidence = Qualification.evidence(
            release: release, report: report, boards: boards, firmware: releaseFirmware,
            previous: try store.previousQualification(inventory: inventory.source, before: runID),
            sources: .library, timingThreshold: timingThreshold)
        if let releaseFirmware {
            // A platform the release has no image for was not qualified with the release.
            for platform in evidence.platforms where !releaseFirmware.platforms.contains(where: { Platform(id: $0)?.buildName == platform }) {
                evidence.reasons.append("\(platform): the release has no image for it (\(releaseFirmware.folder))")
                if evidence.verdict == .pass { evidence.verdict = .incomplete }
            }
        }
        if let signal = outcome.signal {
            // Stopped part way: whatever ran is evidence, but no verdict beyond incomplete.
            evidence.reasons.insert("the qualification was interrupted by \(StopSignals.name(signal))", at: 0)
            if evidence.verdict == .pass { evidence.verdict = .incomplete }
        }
        try store.saveQualification(evidence)

        let folder = URL(fileURLWithPath: reportDir)
        let json = try QualificationEvidence.encoder.encode(evidence)
        let jsonFile = folder.appendingPathComponent("qualification.json")
        try AtomicFile.write([UInt8](json), to: jsonFile.path)
        var written = [jsonFile.path]
        if let privateKey {
            let signature = try EvidenceSignature.sign([UInt8](json), privateKeyPEM: privateKey)
            let signatureFile = folder.appendingPathComponent("qualification.json.sig")
            try AtomicFile.write([UInt8](try QualificationEvidence.encoder.encode(signature)), to: signatureFile.path)
            written.append(signatureFile.path)
        }
        let htmlFile = folder.appendingPathComponent("qualification.html")
        try AtomicFile.write(Array(QualificationReport.html(evidence).utf8), to: htmlFile.path)
        written.insert(htmlFile.path, at: 0)

        print("\(release): \(evidence.verdict.rawValue) on \(evidence.platforms.joined(separator: ", "))")
        for reason in evidence.reasons { print("  \(reason)") }
        for warning in evidence.warnings { print("  warning: \(warning)") }
        if let comparison = evidence.comparison {
            print("  against \(comparison.previousRelease): \(comparison.newFailures.count) new failures, \(comparison.fixed.count) fixed, "
                  + "\(comparison.timingChanges.count) timings moved")
        }
        FileHandle.standardError.write(Data("qualification: \(written.joined(separator: ", "))\n".utf8))
        if let signal = outcome.signal { throw ExitCode(128 + signal) }
        switch evidence.verdict {
        case .pass: return
        case .fail: throw ExitStatus.checkFailed.exitCode
        case .incomplete: throw ExitStatus.incomplete.exitCode
        }
    }
}
