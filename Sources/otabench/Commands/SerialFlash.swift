import ArgumentParser
import Bench
import Firmware
import Foundation

/// `otabench flash BOARD FILE --serial`: listening mode's `f` and YMODEM, Device OS before 6.0.0.
enum SerialFlash {
    static func run(board: String, file: String, image: ModuleFile, module: FirmwareModule, force: Bool) async throws {
        let flashing: SerialFlashing
        do { flashing = try await SerialFlashing(SerialTarget.resolve(board)) } catch {
            reportError("flash: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        try confirm(flashing.problems(for: module), file: file, board: board, force: force)
        let total = image.bytes.count
        let outcome: SerialFlashOutcome
        do {
            outcome = try await flashing.send(image.bytes, name: (file as NSString).lastPathComponent) { sent, _ in
                if isatty(STDERR_FILENO) == 1 {
                    FileHandle.standardError.write(Data("\r\u{1B}[2Ksending \(sent * 100 / max(total, 1))% (\(sent)/\(total) bytes)".utf8))
                }
            }
            if isatty(STDERR_FILENO) == 1 { FileHandle.standardError.write(Data("\n".utf8)) }
        } catch {
            reportError("flash: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
        if case .refused(let line) = outcome {
            reportError("flash: \(board) refused the image: \(line)")
            throw ExitStatus.checkFailed.exitCode
        }
        print("flashed \(file) (\(total) bytes) to \(board) by YMODEM; the board restarts to apply it")
    }
}
