// Benchmarks for otabench, run by Scripts/benchmark on a release build. Each measure prints
// one line: name, figure, unit. Figures that compare two things are measured side by side,
// interleaved in the same run, because the machines are shared and noisy.
import Bench
import Cloud
import CloudOTA
import DFU
import Emulator
import EmulatorServers
import Firmware
import Foundation
import CSerialPort
import LocalCloud
import Logging
import Scenarios
import Serial
import Subprocess
import SystemPackage
import USB

struct Measure {
    var name: String
    var value: Double
    var unit: String

    func print() {
        Swift.print(name.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%10.2f", value) + " " + unit)
    }
}

func fixtureFolder() -> URL? {
    var candidates: [URL] = []
    if CommandLine.arguments.count > 1 { candidates.append(URL(fileURLWithPath: CommandLine.arguments[1])) }
    if let configured = ProcessInfo.processInfo.environment["OTABENCH_FIXTURES"] {
        candidates.append(URL(fileURLWithPath: configured).appendingPathComponent("firmware"))
    }
    candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/firmware"))
    return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
}

/// Module read + verify (prefix search, extensions, suffix, CRC-32, SHA-256) over the real
/// fixtures, against the bare CRC-32 + SHA-256 of the same bytes: the ratio is what the
/// reader costs beyond the checksums it cannot avoid.
func firmwareReadVerify(_ files: [[UInt8]], seconds: Double = 3) -> [Measure] {
    let totalBytes = files.reduce(0) { $0 + $1.count }
    let clock = ContinuousClock()
    var readerTime = Duration.zero
    var checksumTime = Duration.zero
    var rounds = 0
    var sink = 0
    while (readerTime + checksumTime) < .seconds(seconds) || rounds < 3 {
        readerTime += clock.measure {
            for bytes in files {
                if let file = try? ModuleFile(bytes: bytes) { sink &+= file.modules.count }
            }
        }
        checksumTime += clock.measure {
            for bytes in files {
                sink &+= Int(CRC32.checksum(bytes)) &+ Int(SHA256.digest(bytes)[0])
            }
        }
        rounds += 1
    }
    precondition(sink != 42, "keeps the work alive")
    func megabytesPerSecond(_ time: Duration) -> Double {
        let seconds = Double(time.components.seconds) + Double(time.components.attoseconds) / 1e18
        return Double(totalBytes * rounds) / seconds / 1e6
    }
    let reader = megabytesPerSecond(readerTime)
    let checksums = megabytesPerSecond(checksumTime)
    return [
        Measure(name: "firmware.read_verify", value: reader, unit: "MB/s"),
        Measure(name: "firmware.crc32_sha256_only", value: checksums, unit: "MB/s"),
        Measure(name: "firmware.read_verify_vs_checksums", value: reader / checksums, unit: "x"),
        Measure(name: "firmware.fixture_bytes_per_round", value: Double(totalBytes) / 1e6, unit: "MB"),
        Measure(name: "firmware.rounds", value: Double(rounds), unit: "rounds"),
    ]
}

/// `otabench sweep` over a 256 KiB application OTA on a Gen 3 board, every phase, torn
/// writes included: the goal is the whole sweep in under 10 s on a 2-core machine.
func powerCutSweep() throws -> [Measure] {
    let boron = Platform(buildName: "boron")!
    let image = try FirmwareSet.application(for: boron, size: 256 << 10, seed: 7)
    let clock = ContinuousClock()
    var result: PowerCutSweep.Result?
    let elapsed = try clock.measure {
        result = try PowerCutSweep(image: image, platform: boron, phase: .all, torn: true).run()
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return [
        Measure(name: "sweep.boron_256k_all_torn.seconds", value: seconds, unit: "s"),
        Measure(name: "sweep.boron_256k_all_torn.cut_points", value: Double(result!.cutPoints), unit: "cuts"),
        Measure(name: "sweep.boron_256k_all_torn.rate", value: Double(result!.cutPoints) / seconds, unit: "cuts/s"),
    ]
}

/// The nightly suite on the default emulated inventory, as `Scripts/run` runs it (goal < 60 s).
func nightlySuite() async throws -> [Measure] {
    let inventory = Inventory.defaultEmulated
    let boards = try inventory.entries.enumerated().map { try BoardUnderTest.emulated($1, serial: $0 + 1) }
    var options = RunOptions()
    options.tags = [.nightly]
    let clock = ContinuousClock()
    var summary: RunSummary?
    let store = try ResultsStore(path: NSTemporaryDirectory() + "/otabench-bench-\(getpid()).sqlite")
    let elapsed = try await clock.measure {
        summary = try await Runner(scenarios: ScenarioLibrary.all, boards: boards, store: store, options: options).run()
    }
    return [
        Measure(name: "nightly.default_inventory.seconds", value: elapsed.seconds, unit: "s"),
        Measure(name: "nightly.default_inventory.cases", value: Double(summary!.results.count), unit: "cases"),
    ]
}

/// 1,000 generated emulated boards, each running the OTA happy path and one power-cut case,
/// in one run (goals: < 30 s wall, < 2 GiB peak memory).
func thousandBoards() async throws -> [Measure] {
    resetPeakMemory()
    var inventory = Inventory(source: "generated", entries: [])
    inventory.addEmulated(1000)
    let clock = ContinuousClock()
    let setupStart = clock.now
    let boards = try inventory.entries.enumerated().map { try BoardUnderTest.emulated($1, serial: $0 + 1) }
    let setup = clock.now - setupStart
    let oneCut = Scenario("bench/one-power-cut", "one cut in the download", tags: ["bench"], requires: [.powerControl, .controlRequests]) { bench in
        try await bench.facet((any ControlRequestUpdates).self).update(to: bench.image(.nextApp), cuttingPower: PowerCut(.download, at: 0.5))
        _ = try await bench.board.waitUntilUp(timeout: .seconds(30))
        try await bench.expect(try await bench.runningApp()?.fingerprint, equals: bench.image(.knownGoodApp).fingerprint, "the old app")
    }
    var options = RunOptions()
    options.scenarioPatterns = ["ota/happy-path", "bench/one-power-cut"]
    options.jobs = 8
    var summary: RunSummary?
    let elapsed = try await clock.measure {
        summary = try await Runner(scenarios: ScenarioLibrary.all + [oneCut], boards: boards, store: nil, options: options).run()
    }
    return [
        Measure(name: "thousand_boards.setup_seconds", value: setup.seconds, unit: "s"),
        Measure(name: "thousand_boards.run_seconds", value: elapsed.seconds, unit: "s"),
        Measure(name: "thousand_boards.total_seconds", value: (setup + elapsed).seconds, unit: "s"),
        Measure(name: "thousand_boards.cases", value: Double(summary!.results.count), unit: "cases"),
        Measure(name: "thousand_boards.failed", value: Double(summary!.count(.failed)), unit: "cases"),
        Measure(name: "thousand_boards.peak_rss", value: peakMemory(), unit: "MiB"),
    ]
}

/// The resident-set peak of this process since the last `resetPeakMemory()`, in MiB (VmHWM).
func peakMemory() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}

/// Starts a new peak: Linux resets VmHWM to the current RSS when 5 is written to clear_refs.
func resetPeakMemory() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// An immediate release of a 256 KiB app to 1,000 emulated boards through the local cloud:
/// REST upload and release, OTA v3 over each board's own TLS session (mutual authentication),
/// until every board runs it. Cloud and fleet share this process, so the peak is both's.
func cloudRelease(boards count: Int = 1000, appSize: Int = 256 << 10) async throws -> [Measure] {
    let clock = ContinuousClock()
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-bench-cloud-\(getpid())")
    defer { try? FileManager.default.removeItem(at: folder) }
    let boron = Platform(buildName: "boron")!
    func app(_ version: Int) throws -> [UInt8] {
        try FirmwareSet.application(for: boron, size: appSize, seed: UInt64(version), product: .init(id: 4242, version: UInt16(version)))
    }
    let store = try LocalCloudStore(path: folder.appendingPathComponent("cloud.sqlite").path)
    let events = EventHub()
    var quiet = Logger(label: "otabench.cloud")
    quiet.logLevel = .error
    // Quiet: boards still connecting when the run ends are turned away mid-handshake.
    let gateway = DeviceGateway(store: store, events: events, trust: try CloudTrust.create(), logger: quiet)
    var server = LocalCloudServer(store: store, token: "bench", events: events)
    server.gateway = gateway
    let (apiPorts, apiFound) = AsyncStream.makeStream(of: Int.self)
    let (gatewayPorts, gatewayFound) = AsyncStream.makeStream(of: Int.self)
    let api = Task { try await server.run(port: 0, logger: quiet, onRunning: { apiFound.yield($0) }) }
    let devices = Task { try await gateway.run(port: 0) { gatewayFound.yield($0) } }
    var apiIterator = apiPorts.makeAsyncIterator(), gatewayIterator = gatewayPorts.makeAsyncIterator()
    guard let apiPort = await apiIterator.next(), let gatewayPort = await gatewayIterator.next() else { throw CloudError(operation: "start", status: nil, message: "no port") }
    let client = CloudClient(credentials: CloudCredentials(baseURL: "http://127.0.0.1:\(apiPort)", token: "bench"))

    let ids = (0..<count).map { String(format: "e00fce68%016x", 0x10000 + $0) }
    try await client.addDevices(product: "bench", ids)
    _ = try await client.uploadProductFirmware(product: "bench", version: 1, title: "v1", binary: try app(1))
    _ = try await client.release(product: "bench", FirmwareRelease(version: 1, productDefault: true))
    var firmware = try FirmwareSet.standard(for: boron)
    firmware.application = try app(1)
    let base = try BoardModel.provisioned(platform: boron, firmware: firmware)
    let setupStart = clock.now
    let boards = ids.map { BoardEmulator(base.cloned(deviceID: $0, defects: [])) }
    let connections = try zip(ids, boards).map { id, board in
        EmulatedCloudConnection(board: board, client: try DeviceCloudClient(credentials: try gateway.trust.provisionDevice(id),
                                                                            endpoint: DeviceCloudEndpoint(port: gatewayPort)))
    }
    let fleet = Task {
        await withDiscardingTaskGroup { group in
            for connection in connections { group.addTask { await connection.run() } }
        }
    }
    while gateway.onlineDevices.count < count { try await Task.sleep(for: .milliseconds(20)) }
    let connected = clock.now - setupStart

    resetPeakMemory()
    let baseline = peakMemory()
    let releaseStart = clock.now
    _ = try await client.uploadProductFirmware(product: "bench", version: 2, title: "v2", binary: try app(2))
    _ = try await client.release(product: "bench", FirmwareRelease(version: 2, productDefault: true, intelligent: true))
    let deadline = clock.now + .seconds(600)
    while gateway.transfers.filter({ $0.outcome == .delivered }).count < count, clock.now < deadline {
        try await Task.sleep(for: .milliseconds(20))
    }
    let released = clock.now - releaseStart
    let peak = peakMemory()
    var running = 0
    for board in boards where await board.update({ $0.runningProductVersion }) == 2 { running += 1 }
    let transfers = gateway.transfers
    fleet.cancel()
    await fleet.value
    devices.cancel()
    api.cancel()
    _ = await (devices.result, api.result)
    return [
        Measure(name: "cloud_release.boards", value: Double(count), unit: "boards"),
        Measure(name: "cloud_release.connect_seconds", value: connected.seconds, unit: "s"),
        Measure(name: "cloud_release.until_all_run_seconds", value: released.seconds, unit: "s"),
        Measure(name: "cloud_release.boards_running_it", value: Double(running), unit: "boards"),
        Measure(name: "cloud_release.chunks_sent", value: Double(transfers.reduce(0) { $0 + $1.chunksSent }), unit: "chunks"),
        Measure(name: "cloud_release.not_delivered", value: Double(transfers.filter { $0.outcome != .delivered }.count), unit: "transfers"),
        Measure(name: "cloud_release.rss_before", value: baseline, unit: "MiB"),
        Measure(name: "cloud_release.peak_rss", value: peak, unit: "MiB"),
    ]
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// 1 MiB flashed to an emulated Boron's external flash through umockdev, by dfu-util and by
/// otabench, side by side (goal: otabench at most 0.7× dfu-util's wall time, identical flash).
func usbFlashComparison() async throws -> [Measure] {
    guard ProcessInfo.processInfo.environment["LD_PRELOAD"]?.contains("umockdev") == true else {
        print("# usb.*: skipped, run under umockdev-wrapper (Scripts/benchmark does)")
        return []
    }
    let boron = Platform(buildName: "boron")!
    let server = UmockdevBoardServer()
    func dfuBoard(_ serial: Int) throws -> Int {
        var model = try BoardModel.provisioned(platform: boron, deviceID: BoardModel.defaultDeviceID(boron, serial: serial))
        model.enterDFUMode()
        return try server.serve(model)
    }
    var state: UInt64 = 0x2545F4914F6CDD1D
    let image: [UInt8] = (0..<(1 << 20)).map { _ in state ^= state << 13; state ^= state >> 7; state ^= state << 17; return UInt8(truncatingIfNeeded: state) }
    let file = NSTemporaryDirectory() + "/otabench-1mib-\(getpid()).bin"
    try Data(image).write(to: URL(fileURLWithPath: file))
    let clock = ContinuousClock()
    let layout = DfuSeMemoryLayout(boron.dfuAltSettings[2].memoryLayout)!
    var dfuUtilTimes: [Double] = []
    var otabenchTimes: [Double] = []
    var dfuUtilTransfers = 0
    var otabenchTransfers = 0
    var identical = true
    // Alternating rounds on fresh boards, medians: the machine is shared and noisy.
    for round in 0..<5 {
        let theirs = try dfuBoard(10 + round * 2)
        let ours = try dfuBoard(11 + round * 2)
        let before = server.transfers
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: "/usr/bin/dfu-util")
        tool.arguments = ["-d", "2b04:d00d", "-S", server.board(theirs).deviceID, "-a", "2", "-s", "0x80000000", "-D", file]
        tool.standardOutput = FileHandle.nullDevice
        tool.standardError = FileHandle.nullDevice
        dfuUtilTimes.append(try clock.measure { try tool.run(); tool.waitUntilExit() }.seconds)
        dfuUtilTransfers = server.transfers - before
        identical = identical && tool.terminationStatus == 0

        let device = try USBDiscovery.particleDevices(deviceID: server.board(ours).deviceID).first!
        let connection = try USBDeviceConnection(device)
        try await connection.claimInterface(0)
        try await connection.setAlternateSetting(interface: 0, alternate: 2)
        let start = server.transfers
        otabenchTimes.append(try await clock.measure {
            try await connection.session {
                try await DfuSeHost(pipe: connection, sleep: { _ in }).write(image, at: 0x8000_0000, layout: layout)
            }
        }.seconds)
        otabenchTransfers = server.transfers - start
        identical = identical && server.board(theirs).storage.read(.external, 0, count: image.count) == image
            && server.board(ours).storage.read(.external, 0, count: image.count) == image
    }
    let dfuUtil = dfuUtilTimes.sorted()[2]
    let otabench = otabenchTimes.sorted()[2]
    return [
        Measure(name: "usb.dfu_util_1mib.median_seconds", value: dfuUtil, unit: "s"),
        Measure(name: "usb.otabench_1mib.median_seconds", value: otabench, unit: "s"),
        Measure(name: "usb.otabench_vs_dfu_util", value: otabench / dfuUtil, unit: "x"),
        Measure(name: "usb.dfu_util_1mib.control_transfers", value: Double(dfuUtilTransfers), unit: "transfers"),
        Measure(name: "usb.otabench_1mib.control_transfers", value: Double(otabenchTransfers), unit: "transfers"),
        Measure(name: "usb.flash_identical", value: identical ? 1 : 0, unit: "bool"),
    ]
}

/// YMODEM of 1 MiB over a pseudo-terminal: lrzsz's `sb` → `rb` against our sender → our
/// receiver on the same kind of pty, alternating rounds, medians. lrzsz's time includes
/// starting its two processes, a few milliseconds of a transfer that takes far longer.
/// Both are timed until the receiver holds the whole file.
func ymodemComparison() async throws -> [Measure] {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sb"), FileManager.default.isExecutableFile(atPath: "/usr/bin/rb") else {
        print("# ymodem.*: skipped, lrzsz is not installed (Scripts/setup installs it)")
        return []
    }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let payload: [UInt8] = (0..<(1 << 20)).map { _ in state ^= state << 13; state ^= state >> 7; state ^= state << 17; return UInt8(truncatingIfNeeded: state) }
    let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("otabench-ymodem-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let source = folder.appendingPathComponent("image.bin")
    try Data(payload).write(to: source)
    let clock = ContinuousClock()
    var lrzszTimes: [Double] = []
    var otabenchTimes: [Double] = []
    var identical = true

    // Subprocess, not Foundation's Process: the child must start with no signal blocked, or
    // lrzsz's SIGALRM timeouts never fire and a lost byte hangs both tools.
    func lrzsz(_ tool: String, _ arguments: [String], on terminal: Int32, in directory: URL) -> Task<Void, any Error> {
        Task {
            _ = try await run(.path(FilePath(tool)), arguments: Arguments(arguments), workingDirectory: FilePath(directory.path),
                              input: .fileDescriptor(FileDescriptor(rawValue: terminal), closeAfterSpawningProcess: false),
                              output: .fileDescriptor(FileDescriptor(rawValue: terminal), closeAfterSpawningProcess: false),
                              error: .discarded)
        }
    }

    for round in 0..<5 {
        let inbox = folder.appendingPathComponent("rb-\(round)")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        var name = [CChar](repeating: 0, count: 128)
        let master = otabench_open_pseudo_terminal(&name, UInt(name.count))
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // lrzsz reads with blocking calls.
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) & ~O_NONBLOCK)
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        // sb first, given time to settle: it empties its input when it starts, and a "C" from
        // rb lost that way costs lrzsz a ten-second timeout that says nothing about YMODEM.
        let sender = lrzsz("/usr/bin/sb", ["-k", "-q", source.path], on: slave, in: folder)
        try await Task.sleep(for: .milliseconds(300))
        lrzszTimes.append(await clock.measure {
            let receiver = lrzsz("/usr/bin/rb", ["-q", "-y"], on: master, in: inbox)
            // Timed until rb has the whole file and exits. sb then waits for the ACK of the
            // batch's closing block, which rb's exit flushes off the pty: it would retry for
            // ten seconds, a cost of the pty, not of YMODEM.
            let watchdog = Task { try await Task.sleep(for: .seconds(120)); receiver.cancel() }
            _ = await receiver.result
            watchdog.cancel()
        }.seconds)
        sender.cancel()
        _ = await sender.result
        close(slave)
        close(master)
        identical = identical && (try? Data(contentsOf: inbox.appendingPathComponent("image.bin"))) == Data(payload)

        let terminal = try PseudoTerminal()
        let host = try SerialPort.open(terminal.slavePath)
        var received: [(name: String, data: [UInt8])] = []
        otabenchTimes.append(try await clock.measure {
            let sender = Task { try await YModemTransfer.send(name: "image.bin", data: payload, over: terminal.master) }
            received = try await YModemTransfer.receive(over: host)
            _ = await sender.result
        }.seconds)
        host.closeNow()
        terminal.hangUp()
        identical = identical && received.first?.data == payload
    }
    let lrzsz = lrzszTimes.sorted()[2]
    let otabench = otabenchTimes.sorted()[2]
    // lrzsz on a pty sometimes stalls on one of its own 10-second timeouts; the best rounds
    // compare the two protocols without those stalls.
    let lrzszBest = lrzszTimes.min()!
    let otabenchBest = otabenchTimes.min()!
    return [
        Measure(name: "ymodem.lrzsz_1mib.median_seconds", value: lrzsz, unit: "s"),
        Measure(name: "ymodem.otabench_1mib.median_seconds", value: otabench, unit: "s"),
        Measure(name: "ymodem.otabench_vs_lrzsz_throughput", value: lrzsz / otabench, unit: "x"),
        Measure(name: "ymodem.lrzsz_1mib.best_seconds", value: lrzszBest, unit: "s"),
        Measure(name: "ymodem.otabench_1mib.best_seconds", value: otabenchBest, unit: "s"),
        Measure(name: "ymodem.otabench_vs_lrzsz_throughput.best", value: lrzszBest / otabenchBest, unit: "x"),
        Measure(name: "ymodem.files_identical", value: identical ? 1 : 0, unit: "bool"),
    ]
}

if CommandLine.arguments.dropFirst().first == "--cloud-release" {
    // Alone, for a quick look: Scripts/benchmark --cloud-release [BOARDS]
    let count = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 1000
    for measure in try await cloudRelease(boards: count) { measure.print() }
    exit(0)
}
for measure in try await ymodemComparison() { measure.print() }
for measure in try await usbFlashComparison() { measure.print() }
for measure in try powerCutSweep() { measure.print() }
for measure in try await nightlySuite() { measure.print() }
for measure in try await thousandBoards() { measure.print() }
for measure in try await cloudRelease() { measure.print() }

guard let folder = fixtureFolder() else {
    FileHandle.standardError.write(Data("otabench-benchmark: no fixture folder; pass one or set OTABENCH_FIXTURES\n".utf8))
    exit(2)
}
let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
    .filter { $0.pathExtension == "bin" }
    .map { [UInt8](try Data(contentsOf: $0)) }
    .filter { !$0.isEmpty }
print("# otabench benchmark, \(files.count) fixture files from \(folder.path)")
for measure in firmwareReadVerify(files) { measure.print() }
