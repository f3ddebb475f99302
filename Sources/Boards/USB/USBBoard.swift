import Cloud
import ControlRequests
import DFU
import Firmware
import Foundation
import Links
import ScenarioAPI
import Serial
import NIOConcurrencyHelpers
import USB

/// A board on USB, found and followed by its device id across normal and DFU mode (it
/// re-enumerates with the other product id after a reset or a DFU leave). Driven with the
/// same DfuSe host and control-request client as the emulated boards. Its power, console and
/// cloud facets are there only when the bench has a switch, found its serial port, or holds
/// cloud credentials.
public final class USBBoard: Board, ModuleTable, ModeControl, DFUFlashing, CaseScoped, ControlRequestSender {
    public let name: String
    public let platform: Platform
    public let deviceID: String
    /// Whether the board had a serial port when the bench started, for its console facet.
    private let hasConsole: Bool
    public var facets: [any BoardFacet] {
        var facets: [any BoardFacet] = [self, ControlRequestRoute(board: self)]
        if let powerSwitch { facets.append(SwitchedPower(board: self, powerSwitch: powerSwitch)) }
        if hasConsole { facets.append(CapturedConsole(board: self)) }
        if let cloud { facets.append(ParticleCloudUpdates(board: self, cloud: cloud)) }
        return facets
    }
    /// How long to wait for the board to come back after a reset or a leave.
    public let reappearTimeout: Duration
    /// Reads the board's CDC tty into `consoleLog`, when it was given one.
    private let console: ConsoleCapture?
    /// Cuts and restores its power, when the bench has a way to.
    public let powerSwitch: (any PowerSwitch)?
    /// How long a power cut keeps the board off, unless the cut says otherwise.
    public let powerOffTime: Duration
    /// The stretch after the board leaves USB to apply an update in which an apply-phase cut at a
    /// fraction lands: the bootloader's copy cannot be watched from outside, so it is timed.
    public let applyWindow: Duration
    private let lastCut = NIOLockedValueBox<PowerCutRecord?>(nil)
    /// The console line (as the capture numbers them) the current case started at.
    private let caseConsoleStart = NIOLockedValueBox(0)
    /// Updates through a cloud API (Particle's, from PARTICLE_ACCESS_TOKEN), when the bench has
    /// credentials: the board must be claimed by that account or product and online.
    public let cloud: CloudFlash?
    /// What the waits for the board to leave and come back look at USB on, and are limited on.
    private let clock: any Clock<Duration>

    /// `consoleLog`: capture the board's console there. `tty` finds its serial port; by default
    /// udev's answer for the device id, asked again after every reset.
    public init(name: String, platform: Platform, deviceID: String, reappearTimeout: Duration = .seconds(15),
                consoleLog: URL? = nil, tty: (@Sendable () async -> String?)? = nil, powerSwitch: (any PowerSwitch)? = nil,
                powerOffTime: Duration = .seconds(2), applyWindow: Duration = .seconds(2), cloud: CloudFlash? = nil,
                clock: any Clock<Duration> = ContinuousClock()) {
        self.cloud = cloud
        self.clock = clock
        self.powerOffTime = powerOffTime
        self.applyWindow = applyWindow
        self.name = name
        self.platform = platform
        let id = deviceID.lowercased()
        self.deviceID = id
        self.reappearTimeout = reappearTimeout
        // udev is asked at a gentler pace than a path is checked.
        console = consoleLog.flatMap {
            try? ConsoleCapture(logFile: $0, retryInterval: .milliseconds(250), locate: tty ?? { USBDiscovery.tty(forDeviceID: id) })
        }
        // Scenarios check the console only where the board had a serial port when the bench
        // started (udev knows its tty); the capture keeps looking for one either way.
        // (No udev lookup for a board whose console nobody asked for: the CLI makes many.)
        hasConsole = console != nil && (tty != nil || USBDiscovery.tty(forDeviceID: id) != nil)
        self.powerSwitch = powerSwitch
        if let console { Task { await console.start() } }
    }

    deinit {
        if let console { Task { await console.stop() } }
    }

    public var consoleLog: URL? { get async { console?.logFile } }

    /// Returns once the console capture has the board's tty `device` open: a test writes the
    /// board's first line only then, instead of sleeping and hoping the capture is there.
    func waitUntilConsoleAttached(to device: String, timeout: Duration = .seconds(30)) async throws {
        guard let console else { throw BoardError(board: name, operation: "console", .bench("the board has no console log")) }
        try await console.waitUntilAttached(to: device, timeout: timeout)
    }

    /// The board as USB shows it now, in whatever mode; nil while it is off the bus.
    public func device() -> ParticleDevice? { try? ParticleDevice.find(deviceID: deviceID) }

    func control() throws -> ControlRequestClient {
        guard let device = device(), device.mode == .normal else {
            throw BoardError(board: name, operation: "control request", .misbehaved("the board is not on USB in normal mode"))
        }
        return ControlRequestClient(pipe: try USBDeviceConnection(device.usb), timeout: .seconds(60))
    }

    public func mode() async -> BoardMode {
        guard let device = device() else { return .off }
        if device.mode == .dfu { return .dfu }
        guard let client = try? control() else { return .unreachable("does not answer control requests") }
        if (try? await client.deviceMode()) == .listeningMode { return .listening }
        // Device OS does not say "safe mode" over USB; it runs so when a module's
        // dependencies are unmet, which the module table shows.
        if let modules = try? await modules(), modules.contains(where: { !$0.valid }) {
            return .safeMode("a module fails its checks: \(modules.filter { !$0.valid }.map(\.description).joined(separator: ", "))")
        }
        return .running
    }

    public func modules() async throws -> [ModuleSummary] {
        try await moduleTableEntries().map(\.summary)
    }

    public func runningApp() async throws -> ModuleSummary? {
        guard await mode() == .running else { return nil }
        return try await modules().filter { $0.function == .user && $0.valid }.sorted { $0.index < $1.index }.first
    }

    public func flash(_ image: FirmwareImage) async throws {
        try await attempting(name, "flash \(image) by DFU") { try await dfuWrite(image, progress: nil) }
    }

    public func flash(_ image: FirmwareImage, cuttingPower cut: PowerCut) async throws {
        guard cut.phase == .dfuWrite else {
            throw BoardError(board: name, operation: "power cut", .bench("a \(cut.phase.rawValue) cut belongs to an update, not to a DFU write"))
        }
        try await attempting(name, "flash \(image) by DFU, cutting power at \(cut)") {
            try await transfer(image, cuttingPower: cut) { [self] progress in
                try await dfuWrite(image) { await progress($0.bytesWritten, $0.totalBytes) }
            }
        }
    }

    /// Runs `transfer` while `cut` waits for its trigger; keeps what the cut did.
    private func transfer(_ image: FirmwareImage, cuttingPower cut: PowerCut,
                          _ transfer: @Sendable (@escaping TriggeredPowerCut.Progress) async throws -> Void) async throws {
        guard let powerSwitch else { throw BoardError(board: name, operation: "power cut", .missingFacet("PowerControl")) }
        lastCut.withLockedValue { $0 = nil }
        let triggered = TriggeredPowerCut(
            board: name, cut: cut, powerSwitch: powerSwitch, offTime: cut.offTime ?? powerOffTime, applyWindow: applyWindow, clock: clock,
            waitForConsoleLine: { [self] text, after in
                _ = try await waitForConsoleLine(containing: text, after: after, timeout: .seconds(120))
            },
            waitUntilGone: { [self] in try await waitUntilGone() })
        let record = try await triggered.run(imageSize: image.bytes.count, consoleLinesBefore: await consoleLines().count, transfer: transfer)
        lastCut.withLockedValue { $0 = record }
    }

    /// Writes `image` by DfuSe at its start address, reads it back when `verify`, and leaves
    /// DFU. A board in normal mode is sent into DFU first.
    func dfuWrite(_ image: FirmwareImage, verify: Bool = false, progress: (@Sendable (DfuSeHost.Progress) async -> Void)?) async throws {
        guard let module = image.module else { throw BoardError(board: name, operation: "flash", .bench("\(image) is not a module")) }
        try await enterDFU()
        guard let device = device(), device.mode == .dfu else { throw BoardError(board: name, operation: "flash", .misbehaved("not in DFU mode")) }
        let connection = try USBDeviceConnection(device.usb)
        try await connection.claimInterface(0)
        try await connection.setAlternateSetting(interface: 0, alternate: 0)
        guard let layout = DfuSeMemoryLayout(platform.dfuAltSettings[0].memoryLayout) else {
            throw BoardError(board: name, operation: "flash", .bench("no DFU memory layout for \(platform.buildName)"))
        }
        let matches = try await connection.session { () async throws -> Bool in
            let host = DfuSeHost(pipe: connection)
            try await host.write(image.bytes, at: module.startAddress, layout: layout, progress: progress)
            let matches = verify ? try await host.read(module.startAddress, count: image.bytes.count) == image.bytes : true
            try await host.leave()
            return matches
        }
        guard matches else {
            throw BoardError(board: name, operation: "verify", .misbehaved("the board holds other bytes at \(hex(module.startAddress))"))
        }
        // It resets about 500 ms later: back in normal mode, or in DFU when nothing can run.
        _ = try? await waitFor(.normal, timeout: .seconds(3))
    }

    func updateByControlRequests(to image: FirmwareImage, cuttingPower cut: PowerCut?) async throws {
        try await attempting(name, "update to \(image) by \(UpdateRoute.controlRequests.rawValue)") {
            guard let cut else {
                try await control().updateFirmware(image.bytes)
                // Device OS resets to apply it once the reply is out (§6.3); until the board has gone,
                // what it reports is the firmware it is about to replace.
                return try await waitUntilGone()
            }
            guard cut.phase != .dfuWrite else {
                throw BoardError(board: name, operation: "power cut", .bench("a DFU-write cut belongs to flash(_:cuttingPower:), not to an update"))
            }
            try await transfer(image, cuttingPower: cut) { [self] progress in
                try await control().updateFirmware(image.bytes, progress: progress)
            }
        }
    }

    func lastPowerCut() -> PowerCutRecord? { lastCut.withLockedValue { $0 } }

    /// Waits (bounded) for the board to leave USB, as it does when it resets to apply an update.
    /// A board that re-enumerates in another mode at once (a DFU leave) counts as gone too.
    private func waitUntilGone(_ operation: String = "reset") async throws {
        let before = device()?.usb.productID
        let gone: Void? = try await watchUSB(every: .milliseconds(5), for: reappearTimeout) {
            guard let now = self.device(), now.usb.productID == before else { return () }
            return nil
        }
        guard gone != nil else {
            throw BoardError(board: name, operation: operation, .timedOut("the board did not leave USB to restart within \(reappearTimeout)"))
        }
    }

    /// Looks at the board every `interval` until `look` sees what it waits for; nil once `limit`
    /// has passed. USB gives no event for another process's board here, so this looks; on the
    /// board's clock, so a test can move both.
    private func watchUSB<Seen>(every interval: Duration, for limit: Duration, _ look: () async -> Seen?) async throws -> Seen? {
        let stopwatch = Stopwatch(clock)
        while true {
            if let seen = await look() { return seen }
            guard stopwatch.elapsed < limit else { return nil }
            try await clock.sleep(for: interval)
        }
    }

    func updateCutShort(to image: FirmwareImage, sending bytes: Int) async throws {
        try await attempting(name, "update to \(image), stopping after \(bytes) bytes") {
            try await control().updateFirmware(image.bytes, stopAfter: bytes)
        }
    }

    public func reset() async throws {
        try await attempting(name, "reset") {
            if let device = device(), device.mode == .dfu {
                let connection = try USBDeviceConnection(device.usb)
                try await connection.claimInterface(0)
                try await DfuSeHost(pipe: connection).leave()
            } else {
                try await control().reset()
                // Until it has left, the board answering is the one from before the reset.
                try await waitUntilGone()
            }
        }
        _ = try await waitUntilUp(timeout: reappearTimeout)
    }

    public func enterDFU() async throws {
        if device()?.mode == .dfu { return }
        try await attempting(name, "enter DFU") { try await control().enterDFU() }
        try await waitFor(.dfu, timeout: reappearTimeout)
    }

    public func enterSafeMode() async throws {
        try await attempting(name, "enter safe mode") { try await control().enterSafeMode() }
        try await waitUntilGone()
    }

    public func enterListeningMode() async throws {
        try await attempting(name, "enter listening mode") { try await control().startListening() }
    }

    /// Only through `SwitchedPower`, which exists when the switch does.
    func switchPower(_ on: Bool, with powerSwitch: any PowerSwitch) async throws {
        try await attempting(name, on ? "power on" : "power off") { try await powerSwitch.setPower(on) }
    }

    func consoleLines() async -> [String] {
        let start = caseConsoleStart.withLockedValue { $0 }
        return await console?.linesPrinted(since: start).map(\.text) ?? []
    }

    public func beginCase() async {
        lastCut.withLockedValue { $0 = nil }
        let start = await console?.lineCount ?? 0
        caseConsoleStart.withLockedValue { $0 = start }
    }

    func waitForConsoleLine(containing text: String, after: Int, timeout: Duration) async throws -> String {
        guard let console else {
            throw BoardError(board: name, operation: "read the console", .missingFacet("Console"))
        }
        let start = caseConsoleStart.withLockedValue { $0 }
        do { return try await console.waitForLine(containing: text, after: start + after, timeout: timeout) } catch {
            let attached = await console.attachedDevice != nil
            throw BoardError(board: name, operation: "wait for \"\(text)\" on the console",
                             .timedOut(attached ? "not printed within \(timeout)" : "its serial port was not found within \(timeout)"))
        }
    }

    public func waitUntilUp(timeout: Duration) async throws -> BoardMode {
        var last = BoardMode.off
        let up = try await watchUSB(every: .milliseconds(50), for: timeout) { () async -> BoardMode? in
            last = await self.mode()
            switch last {
            case .running, .safeMode, .listening: return last
            default: return nil
            }
        }
        guard let up else {
            throw BoardError(board: name, operation: "wait for the board", .timedOut("still \(last) after \(timeout)"))
        }
        return up
    }

    func waitFor(_ mode: ParticleDevice.Mode, timeout: Duration) async throws {
        let back: Void? = try await watchUSB(every: .milliseconds(50), for: timeout) { self.device()?.mode == mode ? () : nil }
        guard back != nil else {
            throw BoardError(board: name, operation: "wait for \(mode.rawValue) mode", .timedOut("not back on USB within \(timeout)"))
        }
    }
}

/// A USB board's supply, when the bench has a switch for it.
struct SwitchedPower: PowerControl {
    let board: USBBoard
    let powerSwitch: any PowerSwitch
    func powerOff() async throws { try await board.switchPower(false, with: powerSwitch) }
    func powerOn() async throws { try await board.switchPower(true, with: powerSwitch) }
    func lastPowerCut() async -> PowerCutRecord? { board.lastPowerCut() }
}

/// A USB board's console, read from its CDC serial port.
struct CapturedConsole: Console {
    let board: USBBoard
    func lines() async -> [String] { await board.consoleLines() }
    var log: URL? { get async { await board.consoleLog } }
    func waitForLine(containing text: String, after: Int, timeout: Duration) async throws -> String {
        try await board.waitForConsoleLine(containing: text, after: after, timeout: timeout)
    }
}
