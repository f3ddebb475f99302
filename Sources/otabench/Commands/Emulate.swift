import ArgumentParser
import Bench
import Firmware
import Foundation

/// Unbuffered, so a script reading the output sees each line at once.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct Emulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve emulated boards as USB devices or on pseudo-terminals, for tools and people with no hardware.",
        discussion: """
            --usb prints the environment a client needs (UMOCKDEV_DIR and LD_PRELOAD), then serves until \
            interrupted. Example, in another shell: `env UMOCKDEV_DIR=… LD_PRELOAD=libumockdev-preload.so.0 dfu-util -l`.

            --pty gives each board a pseudo-terminal carrying its console and listening mode, and prints \
            a link per board (named by device id) that follows the board's current pty across resets, \
            the way /dev/serial/by-id does. Example: `picocom LINK`, `otabench console LINK`. Setting \
            the line to 14400 baud sends the board into DFU mode, as on a real board.
            """
    )

    @OptionGroup var inventoryFile: InventoryOptions
    var inventory: String? { inventoryFile.inventory }

    @Flag(help: "Serve the boards over USB through umockdev.")
    var usb = false

    @Flag(help: "Give each board a pseudo-terminal speaking its console and listening mode.")
    var pty = false

    @Option(help: "With --pty: the folder for the per-board links (default: a new folder under the temporary directory).")
    var links: String?

    @Option(name: .customLong("platform"), help: "Serve only boards of this platform (repeatable).")
    var platforms: [String] = []

    @Option(name: .customLong("device-os"), help: """
        The Device OS release every served board runs (default: each inventory entry's `device-os`, \
        else 5.8.0 on Gen 3 and 1.5.2 on Gen 2), e.g. 6.2.0 to see what a 6.x board answers.
        """)
    var deviceOS: String?

    @Flag(help: "Start the boards in DFU mode.")
    var dfu = false

    @Flag(help: "Start the boards in listening mode (--pty).")
    var listening = false

    @Flag(help: """
        With --usb: plug the boards into an emulated USB 3 hub with per-port power switching (its USB 2 \
        half at 1-1, its SuperSpeed half at 2-1), so that uhubctl or `power-hub`/`power-port` in an \
        inventory can cut their power.
        """)
    var hub = false

    func run() async throws {
        guard usb != pty else {
            reportError(usb ? "emulate: --usb and --pty serve boards separately; choose one"
                            : "emulate: say how to serve the boards: --usb or --pty")
            throw ExitStatus.couldNotRun.exitCode
        }
        var entries = try BenchSetup.inventory(inventory, verb: "emulate").entries
        if !platforms.isEmpty { entries = entries.filter { platforms.contains($0.platform.buildName) } }
        guard !entries.isEmpty else {
            reportError("emulate: no board to serve")
            throw ExitStatus.couldNotRun.exitCode
        }
        if let deviceOS {
            guard let version = DeviceOSVersion(release: deviceOS) else {
                reportError("emulate: --device-os must be a Device OS release such as 6.2.0 (major.minor.patch), not \"\(deviceOS)\"")
                throw ExitStatus.couldNotRun.exitCode
            }
            for index in entries.indices {
                if let problem = version.problem(on: entries[index].platform) {
                    reportError("emulate: --device-os \(deviceOS): \(problem)")
                    throw ExitStatus.couldNotRun.exitCode
                }
                entries[index].deviceOS = version
            }
        }
        if usb {
            // Other processes hear the boards come and go only from a server under umockdev's
            // preload: this runs otabench again under it, with the same arguments, unless it is.
            do { try EmulatedUSBBoards.runUnderPreload() } catch {
                reportError("emulate: \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
        }
        StopSignals.watch()
        if pty { return try await servePseudoTerminals(entries) }
        let boards = try EmulatedUSBBoards(hubPorts: hub ? max(4, entries.count) : nil)
        if let location = boards.hubLocation { say("hub\t\(location)\t\(boards.hubPorts) ports, per-port power switching") }
        for (position, entry) in entries.enumerated() {
            let served = try boards.serve(platform: entry.platform, deviceOS: entry.deviceOS, serial: position + 1, defects: entry.defects,
                                          start: dfu ? .dfu : .application, hubPort: position + 1)
            let ids = String(format: "%04x:%04x", served.vendorID, served.productID)
            say("\(entry.name)\t\(ids)\t\(served.deviceID)" + (served.hubPort.map { "\thub \(boards.hubLocation ?? "") port \($0)" } ?? ""))
        }
        for (key, value) in boards.clientEnvironment.sorted(by: { $0.key < $1.key }) { say("\(key)=\(value)") }
        say("serving \(entries.count) boards; stop with Ctrl-C")
        // The server removes its testbed on the way out.
        await StopSignals.wait()
        withExtendedLifetime(boards) {}
    }

    private func servePseudoTerminals(_ entries: [Inventory.Entry]) async throws {
        let folder = URL(fileURLWithPath: links ?? (NSTemporaryDirectory() + "otabench-pty-\(getpid())"))
        // Only a folder this command made is removed at the end, and only once it is empty:
        // whatever was in a folder given with --links stays.
        let madeFolder = !FileManager.default.fileExists(atPath: folder.path)
        var servers: [EmulatedSerialBoard] = []
        defer { if madeFolder { rmdir(folder.path) } }
        for (position, entry) in entries.enumerated() {
            let server: EmulatedSerialBoard
            do {
                server = try await EmulatedSerialBoard(platform: entry.platform, deviceOS: entry.deviceOS, serial: position + 1,
                                                       defects: entry.defects,
                                                       start: dfu ? .dfu : listening ? .listening : .application,
                                                       linkDirectory: folder, alias: entry.name)
            } catch {
                for server in servers { await server.stop() }
                reportError("emulate: \(entry.name): \(error)")
                throw ExitStatus.couldNotRun.exitCode
            }
            let path = try await server.waitForPort() ?? "(no port in DFU mode)"
            say("\(entry.name)\t\(entry.platform.buildName)\t\(server.deviceID)\t\(server.link.path)\t\(path)")
            servers.append(server)
        }
        say("serving \(entries.count) boards on pseudo-terminals; links in \(folder.path); stop with Ctrl-C")
        await StopSignals.wait()
        for server in servers { await server.stop() }
    }
}
