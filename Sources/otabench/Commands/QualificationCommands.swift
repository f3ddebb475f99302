import ArgumentParser
import Bench
import Firmware
import Foundation

struct Qualify: AsyncParsableCommand {
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

struct VerifyReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-report",
        abstract: "Check that qualification evidence is exactly what the key's holder signed.",
        discussion: "Reads FILE and its signature FILE.sig; exits 0 when the signature holds, 1 when it does not, 2 when it cannot check."
    )

    @Argument(help: "The evidence file (qualification.json).")
    var file: String

    @Option(help: "The signer's public key (PEM).")
    var key: String

    @Option(help: "The signature file (default: FILE.sig).")
    var signature: String?

    func run() throws {
        let signaturePath = signature ?? file + ".sig"
        let data: Data, publicKey: String, signed: EvidenceSignature
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
            publicKey = try String(contentsOfFile: key, encoding: .utf8)
        } catch {
            reportError("verify-report: \(error.localizedDescription)")
            throw ExitStatus.couldNotRun.exitCode
        }
        do { signed = try JSONDecoder().decode(EvidenceSignature.self, from: Data(contentsOf: URL(fileURLWithPath: signaturePath))) } catch {
            reportError("verify-report: \(signaturePath) is not an otabench signature: \(error.localizedDescription)")
            throw ExitStatus.couldNotRun.exitCode
        }
        do {
            let keyID = try EvidenceSignature.keyID(publicKeyPEM: publicKey)
            guard keyID == signed.keyID else {
                print("\(file): NOT VERIFIED: signed by key \(signed.keyID.prefix(16))…, not by \(key) (\(keyID.prefix(16))…)")
                throw ExitStatus.checkFailed.exitCode
            }
            guard try signed.verify([UInt8](data), publicKeyPEM: publicKey) else {
                print("\(file): NOT VERIFIED: the file changed since it was signed (or the signature did)")
                throw ExitStatus.checkFailed.exitCode
            }
        } catch let error as SignatureError {
            reportError("verify-report: \(key): \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        let verdict = (try? JSONDecoder().decode(QualificationEvidence.self, from: data)).map { " (\($0.release): \($0.verdict.rawValue))" } ?? ""
        print("\(file): verified, signed by key \(signed.keyID.prefix(16))…\(verdict)")
    }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make an Ed25519 key pair for signing qualification evidence.",
        discussion: "Writes the private key to PATH (readable by its owner only) and the public key to PATH.pub; refuses to overwrite either."
    )

    @Option(help: "Where the private key goes; the public key goes to PATH.pub.")
    var out: String

    func run() throws {
        let publicPath = out + ".pub"
        for path in [out, publicPath] where FileManager.default.fileExists(atPath: path) {
            reportError("keygen: \(path) exists; not overwriting a key")
            throw ExitStatus.couldNotRun.exitCode
        }
        let folder = (out as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
            reportError("keygen: cannot write \(out): the folder \(folder) does not exist; make it first (mkdir -p \(folder))")
            throw ExitStatus.couldNotRun.exitCode
        }
        do {
            let (privateKey, publicKey) = try EvidenceSignature.generateKey()
            // Created with owner-only permissions from the start, never readable by others even briefly.
            let descriptor = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else {
                reportError("keygen: cannot create \(out): \(String(cString: strerror(errno)))")
                throw ExitStatus.couldNotRun.exitCode
            }
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            try handle.write(contentsOf: Data(privateKey.utf8))
            try handle.close()
            try Data(publicKey.utf8).write(to: URL(fileURLWithPath: publicPath))
            print("private key: \(out)\npublic key: \(publicPath)\nkey id: \(try EvidenceSignature.keyID(publicKeyPEM: publicKey))")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            reportError("keygen: \(FileProblem.describe(error))")
            throw ExitStatus.couldNotRun.exitCode
        }
    }
}
