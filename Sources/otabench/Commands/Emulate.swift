import ArgumentParser
import Bench
import Emulator
import Firmware
import Foundation

/// Unbuffered, so a script reading the output sees each line at once.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct Emulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve emulated boards as USB devices, so libusb, dfu-util or lsusb can use them with no hardware.",
        discussion: """
            Prints the environment a client needs (UMOCKDEV_DIR and LD_PRELOAD), then serves until \
            interrupted. Example, in another shell: `env UMOCKDEV_DIR=… LD_PRELOAD=libumockdev-preload.so.0 dfu-util -l`.
            """
    )

    @Flag(help: "Serve the boards over USB through umockdev.")
    var usb = false

    @Option(help: "Inventory file (default: Boards/emulated.toml, else one emulated board per platform).")
    var inventory: String?

    @Option(name: .customLong("platform"), help: "Serve only boards of this platform (repeatable).")
    var platforms: [String] = []

    @Flag(help: "Start the boards in DFU mode.")
    var dfu = false

    func run() async throws {
        guard usb else {
            reportError("emulate: say how to serve the boards: --usb (pseudo-terminals arrive with the serial issue)")
            throw ExitStatus.couldNotRun.exitCode
        }
        var entries: [Inventory.Entry]
        do {
            if let inventory { entries = try Inventory.load(inventory).entries }
            else if FileManager.default.fileExists(atPath: "Boards/emulated.toml") { entries = try Inventory.load("Boards/emulated.toml").entries }
            else { entries = Inventory.defaultEmulated.entries }
        } catch {
            reportError("emulate: inventory: \(error)")
            throw ExitStatus.couldNotRun.exitCode
        }
        if !platforms.isEmpty { entries = entries.filter { platforms.contains($0.platform.buildName) } }
        guard !entries.isEmpty else {
            reportError("emulate: no board to serve")
            throw ExitStatus.couldNotRun.exitCode
        }
        let server = UmockdevBoardServer()
        for (position, entry) in entries.enumerated() {
            var model = try BoardModel.provisioned(platform: entry.platform,
                                                   deviceID: BoardModel.defaultDeviceID(entry.platform, serial: position + 1), defects: entry.defects)
            if dfu { model.enterDFUMode() }
            try server.serve(model)
            say("\(entry.name)\t\(String(format: "%04x:%04x", entry.platform.usb.vendorID, model.mode.productID(entry.platform) ?? 0))\t\(model.deviceID)")
        }
        for (key, value) in server.clientEnvironment.sorted(by: { $0.key < $1.key }) { say("\(key)=\(value)") }
        say("serving \(entries.count) boards; stop with Ctrl-C")
        // Serve until SIGINT or SIGTERM; the server removes its testbed on the way out.
        let (stop, continuation) = AsyncStream<Void>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            source.setEventHandler { continuation.yield() }
            source.resume()
            sources.append(source)
        }
        for await _ in stop { break }
        sources.forEach { $0.cancel() }
        withExtendedLifetime(server) {}
    }
}
