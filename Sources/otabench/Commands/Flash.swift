import ArgumentParser
import Bench
import Firmware
import Foundation

struct Flash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Flash a module to a board on USB by DFU (or by YMODEM with --serial), after the host-side compatibility guard.",
        discussion: "The guard refuses an image for another platform, outside its slot, or (when the board runs Device OS) with unmet dependencies, unless --force."
    )

    @Argument(help: "The board's device id (with --serial, also a tty path).")
    var board: String

    @Argument(help: "The module binary.", completion: .file(extensions: ["bin"]))
    var file: String

    @Flag(help: "Write it by DFU (the default).")
    var dfu = false

    @Flag(help: "Send it by YMODEM in listening mode (`f`): Device OS before 6.0.0, any platform.")
    var serial = false

    @Flag(help: "Flash even when the guard refuses.")
    var force = false

    @Flag(help: "Read the image back after writing and compare.")
    var verify = false

    @OptionGroup var lease: LeaseOptions

    func run() async throws {
        let image: ModuleFile
        do { image = try ModuleFile(contentsOf: file) } catch {
            reportError("flash: \(file): \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard let module = image.modules.first else {
            reportError("flash: \(file) holds no Particle module")
            throw ExitStatus.couldNotRun.exitCode
        }
        if serial {
            guard !dfu, !verify else {
                reportError("flash: --serial sends by YMODEM; it goes with neither --dfu nor --verify")
                throw ExitStatus.couldNotRun.exitCode
            }
            let held = try lease.take(SerialTarget.resolve(board).leaseKey, board: board, verb: "flash")
            defer { withExtendedLifetime(held) {} }
            return try await SerialFlash.run(board: board, file: file, image: image, module: module, force: force)
        }
        let held = try lease.take(board.lowercased(), board: board, verb: "flash")
        defer { withExtendedLifetime(held) {} }
        guard let target = USBBoard.find(deviceID: board) else {
            reportError("flash: no Particle board \(board) on USB; `otabench boards` lists them")
            throw ExitStatus.couldNotRun.exitCode
        }
        // The guard: with Device OS running, the full rules against its module table; in DFU,
        // what the product id and the catalog tell (platform, range, size).
        let problems = await target.guardProblems(for: module)
        try confirm(problems.map(\.description), file: file, board: board, force: force)
        let total = image.bytes.count
        do {
            try await target.write(.init(bytes: image.bytes, label: file), verify: verify) { written, total in
                if isatty(STDERR_FILENO) == 1 {
                    let percent = written * 100 / max(total, 1)
                    FileHandle.standardError.write(Data("\r\u{1B}[2Kflashing \(percent)% (\(written)/\(total) bytes)".utf8))
                }
            }
            print("flashed \(file) (\(total) bytes) to \(board) at \(hex(module.startAddress))\(verify ? ", verified" : "")")
        } catch {
            reportError("flash: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
    }
}

/// Refuses, or with --force warns, when the guard found problems.
func confirm(_ problems: [String], file: String, board: String, force: Bool) throws {
    guard !problems.isEmpty else { return }
    let text = problems.joined(separator: "; ")
    if force {
        reportError("flash: warning, flashing anyway (--force): \(text)")
    } else {
        reportError("flash: refusing \(file) for \(board): \(text); --force overrides")
        throw ExitStatus.checkFailed.exitCode
    }
}
