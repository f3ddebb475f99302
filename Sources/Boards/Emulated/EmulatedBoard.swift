import CloudOTA
import ControlRequests
import Foundation
import NIOConcurrencyHelpers
import DFU
import Emulator
import EmulatorServers
import Firmware
import Links
import ScenarioAPI
import Serial

/// A `Board` backed by an emulated board: DFU through the DfuSe host, updates through the
/// control-request client, both over the emulator's `ControlPipe` face, exactly the code a
/// real board is driven with. It has every facet: the emulator can do all of it.
public final class EmulatedBoard: Board, ModuleTable, ModeControl, DFUFlashing, PowerControl, Console, UpdateControl, CaseScoped,
    RoutedUpdates {
    public let name: String
    public let platform: Platform
    public let deviceID: String
    public var facets: [any BoardFacet] {
        var facets: [any BoardFacet] = [self, ControlRequestRoute(board: self), CloudRoute(board: self), CloudPowerCutRoute(board: self)]
        // Listening mode takes YMODEM before Device OS 6.0.0, on every platform.
        if firmware.deviceOS.takesYModem { facets.append(YModemRoute(board: self)) }
        return facets
    }
    public let emulator: BoardEmulator
    public let firmware: FirmwareSet
    private let eventCursor = EventCursor()
    /// With `serial = "pty"`: the board's pseudo-terminal and the capture reading it. Set up
    /// in the background from the initialiser; every use waits for it.
    private let serialConsole: Task<SerialConsole, any Error>?
    /// The emulator's own supply unless a test hands it a switch that misbehaves.
    private let powerSwitch: any PowerSwitch
    private let lastCut = NIOLockedValueBox<PowerCutRecord?>(nil)
    /// The console line (numbered from the board's first) the current case started at.
    private let caseConsoleStart = NIOLockedValueBox(0)
    /// What the limits on waits for the board are measured on. The waits themselves end at the
    /// board's change, so these limits only stop a board that never gets there.
    private let limitClock: any Clock<Duration>

    /// The system modules the board was provisioned with: with the known-good app, what
    /// makes it clean again.
    public var systemImages: [FirmwareImage] {
        firmware.modules.compactMap { bytes -> FirmwareImage? in
            guard let module = (try? ModuleFile(bytes: bytes))?.modules.first, module.function == .system else { return nil }
            return FirmwareImage(bytes: bytes, label: "system \(module.index) for \(platform.buildName)")
        }
    }

    struct SerialConsole: Sendable {
        var server: PseudoTerminalBoardServer
        var capture: ConsoleCapture
    }

    /// `consoleDirectory`: where a pseudo-terminal board's console log goes (`<name>.log`).
    /// `deviceOS`: the release the board runs (its system parts and what it reports); nil for
    /// the emulator's default for the platform.
    public init(name: String, platform: Platform, deviceOS: DeviceOSVersion? = nil, defects: Set<Defect> = [], serial: Int = 1,
                application: [UInt8]? = nil,
                serialTransport: SerialTransport = .inProcess, consoleDirectory: URL? = nil,
                powerSwitch: (@Sendable (BoardEmulator) -> any PowerSwitch)? = nil,
                limitClock: any Clock<Duration> = ContinuousClock()) throws {
        self.name = name
        self.limitClock = limitClock
        self.platform = platform
        let template = try ProvisionedTemplates.shared.template(for: platform, deviceOS: deviceOS)
        var model = template.board.cloned(deviceID: BoardModel.defaultDeviceID(platform, serial: serial), defects: defects)
        if let application {
            try model.install(application)
            model.reset(.user)
        }
        self.firmware = template.firmware
        self.deviceID = model.deviceID
        let emulator = BoardEmulator(model, clock: InstantClock())
        self.emulator = emulator
        self.powerSwitch = powerSwitch?(emulator) ?? EmulatedPowerSwitch(board: emulator)
        guard serialTransport == .pseudoTerminal else {
            serialConsole = nil
            return
        }
        let folder = consoleDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("otabench-console-\(getpid())")
        serialConsole = Task {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let server = try await PseudoTerminalBoardServer(board: emulator, linkDirectory: folder.appendingPathComponent("links"),
                                                             alias: name)
            let capture = try ConsoleCapture(logFile: folder.appendingPathComponent("\(name).log"), following: server.link.path)
            await capture.start()
            try await capture.waitUntilAttached()
            return SerialConsole(server: server, capture: capture)
        }
    }

    deinit {
        guard let serialConsole else { return }
        Task {
            guard let console = try? await serialConsole.value else { return }
            await console.capture.stop()
            await console.server.stop()
        }
    }

    /// The console log file, when the board's console is captured from its serial port.
    public var log: URL? {
        get async { try? await serialConsole?.value.capture.logFile }
    }

    func capture() async throws -> ConsoleCapture? {
        guard let serialConsole else { return nil }
        do { return try await serialConsole.value.capture } catch {
            throw BoardError(board: name, operation: "open the serial port", from: error)
        }
    }

    var dfu: DfuSeHost { DfuSeHost(pipe: emulator, sleep: { _ in await Task.yield() }) }
    var control: ControlRequestClient { ControlRequestClient(pipe: emulator, timeout: .seconds(30), sleep: { _ in await Task.yield() }) }

    public func mode() async -> BoardMode {
        switch await emulator.mode {
        case .off: .off
        case .running: .running
        case .safeMode(let reason): .safeMode(reason)
        case .listening: .listening
        case .dfu: .dfu
        case .bricked(let reason): .unreachable(reason)
        }
    }

    public func modules() async throws -> [ModuleSummary] {
        await emulator.snapshot().modules.map(Self.summary)
    }

    public func runningApp() async throws -> ModuleSummary? {
        await emulator.snapshot().runningApp.map(Self.summary)
    }

    static func summary(_ record: InstalledModuleRecord) -> ModuleSummary {
        ModuleSummary(function: record.function, index: record.index, version: record.version, size: record.size,
                      fingerprint: record.storedSHA256.hexString, valid: record.crcOK, dependencies: record.prefix.dependencies)
    }

    public func flash(_ image: FirmwareImage) async throws {
        try await attempting(name, "flash \(image) by DFU") { try await dfuWrite(image, progress: nil) }
    }

    /// Cut the way a real board's is (the same trigger code), with the emulated switch: the
    /// board goes off at the block boundary and its next DFU request finds nobody.
    public func flash(_ image: FirmwareImage, cuttingPower cut: PowerCut) async throws {
        guard cut.phase == .dfuWrite else {
            throw BoardError(board: name, operation: "power cut", .bench("a \(cut.phase.rawValue) cut belongs to an update, not to a DFU write"))
        }
        lastCut.withLockedValue { $0 = nil }
        // Delays run on host time, as they did: the emulator's DFU transfer takes none of its own
        // time, so on the emulator's clock a delay after the transfer started would fire at once.
        let triggered = TriggeredPowerCut(
            board: name, cut: cut, powerSwitch: powerSwitch, offTime: cut.offTime ?? .zero, applyWindow: .zero, clock: limitClock,
            waitForConsoleLine: { [self] text, after in
                _ = try await waitForLine(containing: text, after: after, timeout: .seconds(120))
            },
            waitUntilGone: {})
        let printed = await lines().count
        let record = try await attempting(name, "flash \(image) by DFU, cutting power at \(cut)") {
            try await triggered.run(imageSize: image.bytes.count, consoleLinesBefore: printed) { [self] progress in
                try await dfuWrite(image) { await progress($0.bytesWritten, $0.totalBytes) }
            }
        }
        lastCut.withLockedValue { $0 = record }
    }

    private func dfuWrite(_ image: FirmwareImage, progress: (@Sendable (DfuSeHost.Progress) async -> Void)?) async throws {
        guard let module = image.module else { throw BoardError(board: name, operation: "flash", .bench("\(image) is not a module")) }
        if await emulator.mode != .dfu { try await enterDFU() }
        guard let layout = platform.dfuAltSettings.first.flatMap({ DfuSeMemoryLayout($0.memoryLayout) }) else {
            throw BoardError(board: name, operation: "flash", .bench("no DFU memory layout for \(platform.buildName)"))
        }
        try await dfu.write(image.bytes, at: module.startAddress, layout: layout, progress: progress)
        let boots = await emulator.snapshot().bootCount
        try await dfu.leave()
        // The bootloader resets about 500 ms after the manifest status; wait for that boot,
        // whatever it ends in (a damaged image leaves the board in DFU).
        guard try await waitForBoard(.seconds(10), { $0.bootCount != boots }) else {
            throw BoardError(board: name, operation: "flash", .misbehaved("the board did not reset after DFU leave"))
        }
    }

    /// Waits for the emulated board's state to meet `condition`: woken by the change itself, so
    /// a busy machine makes the wait longer, never wrong. `limit` only guards against a board
    /// that never gets there; false when it passed.
    private func waitForBoard(_ limit: Duration, _ condition: @escaping @Sendable (BoardModel) -> Bool) async throws -> Bool {
        let emulator = self.emulator
        do {
            try await withTimeout(limit, what: "the board", clock: limitClock) { try await emulator.waitUntil(condition) }
            return true
        } catch is TimeoutError {
            return false
        }
    }

    func update(to image: FirmwareImage, via path: UpdateRoute, cuttingPower cut: PowerCut?) async throws {
        try await attempting(name, "update to \(image) by \(path.rawValue)") { try await send(image, via: path, cuttingPower: cut) }
    }

    private func send(_ image: FirmwareImage, via path: UpdateRoute, cuttingPower cut: PowerCut?) async throws {
        if let cut { try await armPowerCut(cut, image: image, source: path == .cloud ? .cloud : .usb) }
        do {
            switch path {
            case .controlRequests:
                try await control.updateFirmware(image.bytes)
            case .serialYModem:
                try await control.startListening()
                if let console = try await serialConsole?.value {
                    // Through the pseudo-terminal and the termios port, as on a real board,
                    // once the capture holds the port the board has now.
                    let port = await console.capture.stream()
                    defer { Task { await port.close() } }
                    // The line may be replaced under us (a reset the server has not seen yet):
                    // ask again on the current line until the board answers with its prompt.
                    let client = ListeningModeClient(stream: port, timeout: .seconds(2))
                    var afterPrompt: [UInt8]?
                    for _ in 0..<3 where afterPrompt == nil {
                        // The line of the board's boot now, not the one the server has yet to
                        // replace after the last reset: an `f` on that one is lost.
                        let current = try await console.server.waitForPort(boot: await emulator.snapshot().bootCount)
                        try await console.capture.waitUntilAttached(to: current)
                        // A line that went between the look and the write or during the wait
                        // (the reset of the case before, seen late): the next turn asks on the
                        // board's new line.
                        do { afterPrompt = try await client.requestFlash() } catch LinkError.disconnected { continue } catch let error as ListeningModeError {
                            if case .flashRefused = error { throw error }
                            continue
                        }
                    }
                    guard let afterPrompt else { throw BoardError(board: name, operation: "serial update", .misbehaved("the board never answered `f`")) }
                    try await verdict(of: client.sendFirmware(image.bytes, name: image.label, afterPrompt: afterPrompt), from: client)
                } else {
                    let client = ListeningModeClient(stream: EmulatedSerialPort(board: emulator), timeout: .seconds(2))
                    try await verdict(of: client.sendFirmware(image.bytes, name: image.label, afterPrompt: try await client.requestFlash()), from: client)
                }
            case .cloud:
                // Through the local device cloud, as a real board through Particle's: the API's
                // flash call, OTA v3 over the board's TLS session, the events to follow it.
                try await LocalBenchCloud.shared.flash(image.bytes, board: emulator)
            }
        } catch {
            // A cut ends the transfer with the board gone from USB; anything else is the answer.
            let poweredOff = await emulator.mode == .off
            if cut == nil || !poweredOff { throw error }
        }
        if let cut {
            await emulator.update { $0.storage.faults = .none }
            // The emulator cuts inside the flash operation itself: no switch, no latency.
            let landed = await emulator.snapshot().transferLostAt
            lastCut.withLockedValue {
                $0 = PowerCutRecord(trigger: cut.trigger, sentAtTrigger: nil, sentAtCut: cut.phase == .download ? landed : nil,
                                    latency: .zero, offTime: .zero)
            }
            if await emulator.mode == .off {
                await emulator.update { $0.powerOn() }
            }
        }
    }

    /// CAN CAN at the close of a YMODEM transfer: Device OS refused the image and says why,
    /// "Validation failed: <system error>" (1.x: the failed validation flags, "0x2").
    private func verdict<Stream: ByteStream>(of ending: YModemTransfer.Ending, from client: ListeningModeClient<Stream>) async throws {
        guard ending == .refusedAtClose else { return }
        let line = (try? await client.reasonLine(within: .seconds(10))) ?? "no reason given"
        throw BoardError(board: name, operation: "serial update", BoardError.Cause(serialRefusal: line))
    }

    public func lastPowerCut() async -> PowerCutRecord? { lastCut.withLockedValue { $0 } }

    func updateCutShort(to image: FirmwareImage, sending bytes: Int) async throws {
        try await attempting(name, "update to \(image), stopping after \(bytes) bytes") {
            try await control.updateFirmware(image.bytes, stopAfter: bytes)
        }
    }

    /// Finds the operation a cut lands on by running the same update on a copy of the board.
    private func armPowerCut(_ cut: PowerCut, image: FirmwareImage, source: BoardModel.UpdateSource) async throws {
        guard cut.phase != .dfuWrite else {
            throw BoardError(board: name, operation: "power cut", .bench("a DFU-write cut belongs to flash(_:cuttingPower:), not to an update"))
        }
        var probe = await emulator.snapshot()
        probe.storage.resetOperationLog()
        do {
            // Through the same source: its chunk size sets how many staging writes there are.
            try probe.receiveUpdate(image.bytes, source: source)
        } catch {
            throw BoardError(board: name, operation: "power cut", .bench("the update itself fails, there is nothing to cut: \(error)"))
        }
        // Download: staging erase, chunks, queueing. Apply: the bootloader's copy writes.
        let operations = probe.storage.log.filter { operation in
            switch cut.phase {
            case .download: [.download, .validate, .queue].contains(operation.phase)
            case .apply: operation.phase == .applyCopy && operation.kind == .program && operation.device != .dct
            case .dfuWrite: false
            }
        }
        guard !operations.isEmpty else { throw BoardError(board: name, operation: "power cut", .bench("no \(cut.phase) operations")) }
        let target: Int
        switch cut.trigger {
        case .fraction(let fraction):
            target = operations[min(operations.count - 1, Int(Double(operations.count) * fraction))].number
        case .byteOffset(let bytes) where cut.phase == .download:
            // The first write of staging past that many bytes: the chunk the host sends next.
            let staging = probe.platform.staging.address
            target = (operations.first { $0.kind == .program && $0.phase == .download && $0.address >= staging + UInt32(clamping: bytes) }
                ?? operations.last!).number
        default:
            // The emulator's update runs in its own time, not the wall clock's, and prints no
            // lines mid-transfer: these triggers need a board whose power is switched from outside.
            throw BoardError(board: name, operation: "power cut", .bench("a \(cut.trigger) trigger needs a board on USB with a power switch"))
        }
        await emulator.update {
            $0.storage.resetOperationLog()
            $0.storage.faults = FaultPlan(powerLossBeforeOperation: target)
        }
    }

    public func reset() async throws {
        try await attempting(name, "reset") { try await control.reset() }
        _ = try await waitUntilUp(timeout: .seconds(10))
    }

    public func enterDFU() async throws {
        switch await emulator.mode {
        case .dfu: return
        case .running, .safeMode, .listening: try await attempting(name, "enter DFU") { try await control.enterDFU() }
        default: await emulator.update { $0.enterDFUMode() }  // the MODE button held through reset
        }
        guard await emulator.mode == .dfu else { throw BoardError(board: name, operation: "enter DFU", .misbehaved("the board did not enter DFU mode")) }
    }

    public func enterSafeMode() async throws {
        try await attempting(name, "enter safe mode") { try await control.enterSafeMode() }
    }

    public func enterListeningMode() async throws {
        try await attempting(name, "enter listening mode") { try await control.startListening() }
    }

    public func powerOff() async throws { try await attempting(name, "power off") { try await powerSwitch.setPower(false) } }
    public func powerOn() async throws { try await attempting(name, "power on") { try await powerSwitch.setPower(true) } }

    public func lines() async -> [String] {
        let start = caseConsoleStart.withLockedValue { $0 }
        if let capture = try? await capture() { return await capture.linesPrinted(since: start).map(\.text) }
        let model = await emulator.snapshot()
        return Array(model.console.dropFirst(max(0, start - (model.consoleLinesPrinted - model.console.count))).map(\.text))
    }

    public func beginCase() async {
        lastCut.withLockedValue { $0 = nil }
        _ = await takeEvents()
        let printed: Int
        if let capture = try? await capture() { printed = await capture.lineCount } else { printed = await emulator.snapshot().consoleLinesPrinted }
        caseConsoleStart.withLockedValue { $0 = printed }
    }

    public func waitForLine(containing text: String, after: Int, timeout: Duration) async throws -> String {
        if let capture = try await capture() {
            let start = caseConsoleStart.withLockedValue { $0 }
            do { return try await capture.waitForLine(containing: text, after: start + after, timeout: timeout) } catch {
                throw BoardError(board: name, operation: "wait for \"\(text)\" on the console", .timedOut("not printed within \(timeout)"))
            }
        }
        // Counted from this case's first line, as `consoleLines()` is.
        let first = caseConsoleStart.withLockedValue { $0 } + after
        let printed = try await waitForBoard(timeout) { model in
            let kept = model.consoleLinesPrinted - model.console.count
            return model.console.dropFirst(max(0, first - kept)).contains { $0.text.contains(text) }
        }
        if printed, let line = await lines().dropFirst(after).first(where: { $0.contains(text) }) { return line }
        throw BoardError(board: name, operation: "wait for \"\(text)\" on the console", .timedOut("not printed within \(timeout)"))
    }

    public func waitUntilUp(timeout: Duration) async throws -> BoardMode {
        // Up, or bricked: an emulated board that bricked stays so, no point waiting.
        _ = try await waitForBoard(timeout) { model in
            switch model.mode {
            case .running, .safeMode, .listening, .bricked: true
            case .off, .dfu: false
            }
        }
        let mode = await mode()
        switch mode {
        case .running, .safeMode, .listening: return mode
        case .unreachable(let reason): throw BoardError(board: name, operation: "wait for the board", .misbehaved("it does not start: \(reason)"))
        default: throw BoardError(board: name, operation: "wait for the board", .timedOut("still \(mode) after \(timeout)"))
        }
    }

    public func setUpdatesEnabled(_ enabled: Bool) async throws {
        await emulator.update { enabled ? $0.enableUpdates() : $0.disableUpdates() }
    }

    public func sendCloudNotice(pending: Bool?, forced: Bool?) async throws {
        await emulator.update { model in
            if let pending { model.receiveUpdatesPendingNotice(pending ? "true" : "false") }
            if let forced { model.receiveUpdatesForcedNotice(forced ? "true" : "false") }
        }
    }

    public func takeEvents() async -> [BoardEventName] {
        let events = await emulator.snapshot().events
        return eventCursor.take(events).map { event in
            switch event {
            case .firmwareUpdate(.begin): .firmwareUpdateBegin
            case .firmwareUpdate(.progress): .firmwareUpdateProgress
            case .firmwareUpdate(.complete): .firmwareUpdateComplete
            case .firmwareUpdate(.failed): .firmwareUpdateFailed
            case .firmwareUpdatePending, .firmwareUpdateStatus: .firmwareUpdatePending
            case .updatesEnabledPublished: .updatesEnabledPublished
            case .updatesForcedPublished: .updatesForcedPublished
            case .reset: .reset
            }
        }
    }
}

/// Remembers how many of a growing event list a reader has seen.
final class EventCursor: Sendable {
    private let seen = NIOLockedValueBox(0)

    func take<T>(_ all: [T]) -> [T] {
        let start = seen.withLockedValue { count in
            let start = min(count, all.count)
            count = all.count
            return start
        }
        return Array(all[start...])
    }
}
