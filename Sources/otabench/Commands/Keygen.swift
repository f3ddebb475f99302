import ArgumentParser
import Bench
import Firmware
import Foundation

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
