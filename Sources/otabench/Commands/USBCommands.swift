import ArgumentParser
import ControlRequests
import DFU
import Firmware
import Foundation
import Bench
import Boards
import USB

struct BoardsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boards", abstract: "List the Particle boards on USB: platform, mode, device id.")

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let devices: [ParticleDevice]
        do { devices = try ParticleDevice.all() } catch {
            reportError("boards: \(error); is libusb able to see USB devices here?")
            throw ExitStatus.couldNotRun.exitCode
        }
        // Device OS version and application, from the boards that run Device OS.
        var details: [String: (version: String, app: String)] = [:]
        for device in devices where device.mode == .normal {
            guard let id = device.deviceID, let connection = try? USBDeviceConnection(device.usb) else { continue }
            let client = ControlRequestClient(pipe: connection, timeout: .seconds(5))
            let version = (try? await client.systemVersion()) ?? "?"
            let app = (try? await client.moduleInfo())?.modules.first { $0.type == .userPartModule }
                .map { "user \($0.index) v\($0.version), \([UInt8]($0.hash).hexString.prefix(12))" } ?? "none"
            details[id] = (version, app)
        }
        if json {
            let rows = devices.map { device in
                ["platform": device.platform?.buildName ?? "unknown", "mode": device.mode.rawValue, "deviceId": device.deviceID ?? "",
                 "usb": String(format: "%04x:%04x", device.usb.vendorID, device.usb.productID),
                 "bus": "\(device.usb.bus)", "address": "\(device.usb.address)",
                 "deviceOS": details[device.deviceID ?? ""]?.version ?? "", "app": details[device.deviceID ?? ""]?.app ?? ""]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(rows) + Data("\n".utf8))
            return
        }
        if devices.isEmpty { print("no Particle boards on USB") }
        for device in devices {
            let detail = details[device.deviceID ?? ""].map { "\tDevice OS \($0.version)\t\($0.app)" } ?? ""
            print("\(device.deviceID ?? "-")\t\(device.platform?.buildName ?? "unknown")\t\(device.mode.rawValue)\t"
                  + String(format: "%04x:%04x bus %d device %d", device.usb.vendorID, device.usb.productID, device.usb.bus, device.usb.address)
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
            return try await SerialFlash.run(board: board, file: file, image: image, force: force)
        }
        let held = try lease.take(board.lowercased(), board: board, verb: "flash")
        defer { withExtendedLifetime(held) {} }
        guard var device = try? ParticleDevice.find(deviceID: board), let platform = device.platform else {
            reportError("flash: no Particle board \(board) on USB; `otabench boards` lists them")
            throw ExitStatus.couldNotRun.exitCode
        }
        // The guard: with Device OS running, the full rules against its module table; in DFU,
        // what the product id and the catalog tell (platform, range, size).
        var installed: [InstalledModule] = []
        var dependenciesKnown = false
        if device.mode == .normal, let reply = try? await ControlRequestClient(pipe: try USBDeviceConnection(device.usb)).moduleInfo() {
            installed = reply.modules.map {
                InstalledModule(function: ModuleFunction(rawValue: UInt8($0.type.rawValue)), index: UInt8($0.index), version: UInt16($0.version),
                                dependencies: $0.dependencies.map { .init(function: ModuleFunction(rawValue: UInt8($0.type.rawValue)),
                                                                          index: UInt8($0.index), version: UInt16($0.version)) })
            }
            dependenciesKnown = !installed.isEmpty
        }
        var problems = Compatibility.check(module, on: platform, installed: installed).problems
        if !dependenciesKnown {
            problems.removeAll { if case .unmetDependency = $0 { true } else if case .breaksInstalledModule = $0 { true } else { false } }
        }
        if !problems.isEmpty {
            let text = problems.map(\.description).joined(separator: "; ")
            if force {
                reportError("flash: warning, flashing anyway (--force): \(text)")
            } else {
                reportError("flash: refusing \(file) for \(board): \(text); --force overrides")
                throw ExitStatus.checkFailed.exitCode
            }
        }
        let target = USBBoard(name: board, platform: platform, deviceID: board)
        do {
            if device.mode == .normal {
                try await target.enterDFU()
                guard let inDFU = target.device() else { throw BoardError(board: board, operation: "flash", .misbehaved("gone after entering DFU")) }
                device = inDFU
            }
            let connection = try USBDeviceConnection(device.usb)
            try await connection.claimInterface(0)
            try await connection.setAlternateSetting(interface: 0, alternate: 0)
            guard let layout = DfuSeMemoryLayout(platform.dfuAltSettings[0].memoryLayout) else { throw ExitStatus.couldNotRun.exitCode }
            let total = image.bytes.count
            let bytes = image.bytes
            let verify = self.verify
            let matches = try await connection.session { () async throws -> Bool in
                let host = DfuSeHost(pipe: connection)
                try await host.write(bytes, at: module.startAddress, layout: layout) { progress in
                    if isatty(STDERR_FILENO) == 1 {
                        let percent = progress.bytesWritten * 100 / max(total, 1)
                        FileHandle.standardError.write(Data("\r\u{1B}[2Kflashing \(percent)% (\(progress.bytesWritten)/\(total) bytes)".utf8))
                    }
                }
                var matches = true
                if verify { matches = try await host.read(module.startAddress, count: total) == bytes }
                try await host.leave()
                return matches
            }
            guard matches else {
                reportError("flash: verify failed: the board holds other bytes at \(hex(module.startAddress))")
                throw ExitStatus.checkFailed.exitCode
            }
            _ = try? await target.waitUntilUp(timeout: .seconds(10))
            print("flashed \(file) (\(total) bytes) to \(board) at \(hex(module.startAddress))\(verify ? ", verified" : "")")
        } catch let error as ExitCode {
            throw error
        } catch {
            reportError("flash: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
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
        guard let device = try? ParticleDevice.find(deviceID: board), let platform = device.platform else {
            reportError("reset: no Particle board \(board) on USB; `otabench boards` lists them")
            throw ExitStatus.couldNotRun.exitCode
        }
        let target = USBBoard(name: board, platform: platform, deviceID: board)
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
        guard let device = try? ParticleDevice.find(deviceID: board), let platform = device.platform else {
            reportError("info: no Particle board \(board) on USB; `otabench boards` lists them")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard device.mode == .normal else {
            reportError("info: \(board) is in DFU mode; the module table needs Device OS running (try `otabench reset \(board)`)")
            throw ExitStatus.couldNotRun.exitCode
        }
        do {
            let client = ControlRequestClient(pipe: try USBDeviceConnection(device.usb), timeout: .seconds(10))
            print("\(platform.displayName) (\(platform.buildName), platform \(platform.id.rawValue)), device \(board), Device OS \(try await client.systemVersion())")
            for module in try await client.moduleInfo().modules {
                let function = ModuleFunction(rawValue: UInt8(truncatingIfNeeded: module.type.rawValue))
                print("\(function) module #\(module.index) - version \(module.version), \(module.size) bytes, \(module.maxSize) bytes max size")
                for (flag, name) in [(2, "Integrity"), (8, "Address Range"), (16, "Platform"), (4, "Dependencies")] {
                    let checked = module.checkedFlags & UInt32(flag) != 0
                    let passed = module.passedFlags & UInt32(flag) != 0
                    print("  \(name): \(checked ? (passed ? "PASS" : "FAIL") : "not checked")")
                }
                for dependency in module.dependencies {
                    print("    depends on \(ModuleFunction(rawValue: UInt8(truncatingIfNeeded: dependency.type.rawValue))) #\(dependency.index) version \(dependency.version)")
                }
            }
        } catch {
            reportError("info: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
    }
}
