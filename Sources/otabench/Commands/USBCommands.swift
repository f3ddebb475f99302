import ArgumentParser
import ControlRequests
import DFU
import Firmware
import Foundation
import USB

struct Boards: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the Particle boards on USB: platform, mode, device id.")

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let devices: [ParticleDevice]
        do { devices = try ParticleDevice.all() } catch {
            reportError("boards: \(error); is libusb able to see USB devices here?")
            throw ExitStatus.couldNotRun.exitCode
        }
        if json {
            let rows = devices.map { device in
                ["platform": device.platform?.buildName ?? "unknown", "mode": device.mode.rawValue, "deviceId": device.deviceID ?? "",
                 "usb": String(format: "%04x:%04x", device.usb.vendorID, device.usb.productID),
                 "bus": "\(device.usb.bus)", "address": "\(device.usb.address)"]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(rows) + Data("\n".utf8))
            return
        }
        if devices.isEmpty { print("no Particle boards on USB") }
        for device in devices {
            print("\(device.deviceID ?? "-")\t\(device.platform?.buildName ?? "unknown")\t\(device.mode.rawValue)\t"
                  + String(format: "%04x:%04x bus %d device %d", device.usb.vendorID, device.usb.productID, device.usb.bus, device.usb.address))
        }
    }
}

struct Flash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Flash a module to a board on USB by DFU, after the host-side compatibility guard.",
        discussion: "The guard refuses an image for another platform, outside its slot, or (when the board runs Device OS) with unmet dependencies, unless --force."
    )

    @Argument(help: "The board's device id.")
    var board: String

    @Argument(help: "The module binary.", completion: .file(extensions: ["bin"]))
    var file: String

    @Flag(help: "Write it by DFU (the only way so far).")
    var dfu = false

    @Flag(help: "Flash even when the guard refuses.")
    var force = false

    @Flag(help: "Read the image back after writing and compare.")
    var verify = false

    func run() async throws {
        let image: ModuleFile
        do { image = try ModuleFile(contentsOf: file) } catch {
            reportError("flash: \(file): \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        guard let module = image.modules.first else { throw ExitStatus.couldNotRun.exitCode }
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
        do {
            if device.mode == .normal {
                try await ControlRequestClient(pipe: try USBDeviceConnection(device.usb)).enterDFU()
                device = try await waitFor(.dfu, platform: platform)
            }
            let connection = try USBDeviceConnection(device.usb)
            try await connection.claimInterface(0)
            try await connection.setAlternateSetting(interface: 0, alternate: 0)
            guard let layout = DfuSeMemoryLayout(platform.dfuAltSettings[0].memoryLayout) else { throw ExitStatus.couldNotRun.exitCode }
            let host = DfuSeHost(pipe: connection)
            let total = image.bytes.count
            try await host.write(image.bytes, at: module.startAddress, layout: layout) { progress in
                if isatty(STDERR_FILENO) == 1 {
                    let percent = progress.bytesWritten * 100 / max(total, 1)
                    FileHandle.standardError.write(Data("\r\u{1B}[2Kflashing \(percent)% (\(progress.bytesWritten)/\(total) bytes)".utf8))
                }
            }
            if verify {
                let back = try await host.read(module.startAddress, count: total)
                guard back == image.bytes else {
                    reportError("flash: verify failed: the board holds other bytes at \(hex(module.startAddress))")
                    throw ExitStatus.checkFailed.exitCode
                }
            }
            try await host.leave()
            _ = try? await waitFor(.normal, platform: platform)
            print("flashed \(file) (\(total) bytes) to \(board) at \(hex(module.startAddress))\(verify ? ", verified" : "")")
        } catch let error as ExitCode {
            throw error
        } catch {
            reportError("flash: \(board): \(error)")
            throw ExitStatus.checkFailed.exitCode
        }
    }

    /// Waits for the board to come back in `mode` (it re-enumerates with the other product id).
    func waitFor(_ mode: ParticleDevice.Mode, platform: Platform, timeout: Duration = .seconds(10)) async throws -> ParticleDevice {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let device = try? ParticleDevice.find(deviceID: board), device.mode == mode { return device }
            try await Task.sleep(for: .milliseconds(50))
        }
        reportError("flash: \(board) did not come back in \(mode.rawValue) mode within \(timeout)")
        throw ExitStatus.checkFailed.exitCode
    }
}
