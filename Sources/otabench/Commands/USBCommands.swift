import ArgumentParser
import Bench
import Firmware
import Foundation

struct BoardsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boards", abstract: "List the Particle boards on USB: platform, mode, device id.")

    @OptionGroup var output: OutputOptions
    var json: Bool { output.json }

    func run() async throws {
        let boards: [USBBoardListing]
        do { boards = try await USBBoard.listAll() } catch {
            reportError("boards: \(error); is libusb able to see USB devices here?")
            throw ExitStatus.couldNotRun.exitCode
        }
        if json {
            let rows = boards.map { board in
                ["platform": board.platform ?? "unknown", "mode": board.mode, "deviceId": board.deviceID ?? "",
                 "usb": String(format: "%04x:%04x", board.vendorID, board.productID),
                 "bus": "\(board.bus)", "address": "\(board.address)",
                 "deviceOS": board.deviceOS ?? "", "app": board.app ?? ""]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(rows) + Data("\n".utf8))
            return
        }
        if boards.isEmpty { print("no Particle boards on USB") }
        for board in boards {
            let detail = board.deviceOS.map { "\tDevice OS \($0)\t\(board.app ?? "none")" } ?? ""
            print("\(board.deviceID ?? "-")\t\(board.platform ?? "unknown")\t\(board.mode)\t"
                  + String(format: "%04x:%04x bus %d device %d", board.vendorID, board.productID, board.bus, board.address)
                  + detail)
        }
    }
}

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

    @Flag(help: "Send it by YMODEM in listening mode (`f`): Gen 2-era Device OS only.")
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

struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reset a board on USB, or send it into DFU, safe or listening mode.")

    @Argument(help: "The board's device id.")
    var board: String

    @Flag(help: "Reset into DFU mode.")
    var dfu = false

    @Flag(help: "Reset into safe mode.")
    var safe = false

    @Flag(help: "Enter listening mode.")
    var listen = false

    @OptionGroup var lease: LeaseOptions

    func run() async throws {
        guard [dfu, safe, listen].filter({ $0 }).count <= 1 else {
            reportError("reset: give at most one of --dfu, --safe, --listen")
            throw ExitStatus.couldNotRun.exitCode
        }
        let held = try lease.take(board.lowercased(), board: board, verb: "reset")
        defer { withExtendedLifetime(held) {} }
        guard let target = USBBoard.find(deviceID: board) else {
            reportError("reset: no Particle board \(board) on USB; `otabench boards` lists them")
            throw ExitStatus.couldNotRun.exitCode
        }
        do {
            if dfu { try await target.enterDFU() }
            else if safe { try await target.enterSafeMode(); _ = try await target.waitUntilUp(timeout: .seconds(15)) }
            else if listen { try await target.enterListeningMode() }
            else { try await target.reset() }
            print("\(board): \(await target.mode())")
        } catch {
            reportError("reset: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
    }
}

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a board's module table, in the spirit of `particle serial inspect`.")

    @Argument(help: "The board's device id.")
    var board: String

    @OptionGroup var lease: LeaseOptions

    func run() async throws {
        // Control requests to a board mid-update would interleave with the updater's.
        let held = try lease.take(board.lowercased(), board: board, verb: "info")
        defer { withExtendedLifetime(held) {} }
        guard let target = USBBoard.find(deviceID: board) else {
            reportError("info: no Particle board \(board) on USB; `otabench boards` lists them")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard !target.isInDFU else {
            reportError("info: \(board) is in DFU mode; the module table needs Device OS running (try `otabench reset \(board)`)")
            throw ExitStatus.couldNotRun.exitCode
        }
        let platform = target.platform
        do {
            print("\(platform.displayName) (\(platform.buildName), platform \(platform.id.rawValue)), device \(board), Device OS \(try await target.deviceOSVersion())")
            for module in try await target.moduleTableEntries() {
                print("\(module.function) module #\(module.index) - version \(module.version), \(module.size) bytes, \(module.maxSize) bytes max size")
                for check in module.checks {
                    print("  \(check.name): \(check.checked ? (check.passed ? "PASS" : "FAIL") : "not checked")")
                }
                for dependency in module.dependencies {
                    print("    depends on \(dependency.function) #\(dependency.index) version \(dependency.version)")
                }
            }
        } catch {
            reportError("info: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
    }
}
