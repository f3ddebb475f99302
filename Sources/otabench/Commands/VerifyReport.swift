import ArgumentParser
import Bench
import Firmware
import Foundation

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
