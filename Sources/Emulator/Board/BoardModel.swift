import Firmware
import Serial

/// An emulated Particle board, whole: its flash and DCT (which survive power cuts), and
/// what lives in RAM (mode, update flags, a transfer in progress), which does not. A value
/// type: a copy is a snapshot.
public struct BoardModel: Sendable {
    public let platform: Platform
    public internal(set) var deviceID: String
    public var storage: BoardStorage
    public var defects: Set<Defect>

    // RAM: lost at every reset and power cut.
    public internal(set) var mode: EmulatedMode = .off
    public internal(set) var updateFlags = UpdateFlags()
    var transfer: Transfer?
    var factoryRestoredThisBoot = false
    /// The DFU class driver's state while the board is in DFU mode.
    public internal(set) var dfu = DfuSeMachine()
    /// Device OS's control-request channel.
    public internal(set) var control = ControlRequestChannel()
    /// Listening mode's YMODEM receiver while `f` (or an SOH/STX) runs it, before 6.0.0.
    var ymodem: DeviceOSYModemReceiver?
    /// When the receiver's current wait for a byte began, on the serial clock.
    var ymodemWaitStart = Duration.zero
    /// The latest time the driver gave the serial face: what its delays and timeouts are measured on.
    var serialTime = Duration.zero
    /// A delay the listening-mode console sits in, and what the host sent meanwhile.
    var consoleDelay: ConsoleDelay?
    var heldInput: [UInt8] = []
    /// Where `x` returns to: running or safe mode.
    var modeBeforeListening: EmulatedMode = .running
    /// The user part Device OS runs, when it runs one.
    public internal(set) var runningApp: InstalledModuleRecord?
    /// A module the board executes although its CRC fails: what a skipped check, or Gen 2's
    /// unchecked system parts, lead to.
    public internal(set) var executingCorruptModule: InstalledModuleRecord?

    // Kept across resets by the emulator, for tests and reports.
    public internal(set) var events: [BoardEvent] = []
    public internal(set) var console: [ConsoleLine] = []
    /// Every console line the board ever printed, those `console` no longer keeps included:
    /// a mark that stays true however the kept lines are trimmed.
    public internal(set) var consoleLinesPrinted = 0
    public internal(set) var bootCount = 0
    public internal(set) var lastResetReason: ResetReason = .powerDown
    /// Virtual time outside flash operations (boot, waits).
    var otherTime: Duration = .zero
    /// When the running application last started, on the virtual clock.
    public internal(set) var appStartedAt: Duration = .zero
    public var consoleLimit = 10_000
    /// What the board wrote to its USB serial port: log lines, listening-mode answers.
    var serialOutput: [UInt8] = []
    var serialOutputLimit = 1 << 20
    /// How many of `serialOutput`'s first bytes the board wrote before its last reset: the old
    /// USB line's, which a host must get before that line goes.
    var unreadBeforeReset = 0
    /// Whether the board has a serial number in OTP (GET_SERIAL_NUMBER, `i`); factory boards do.
    public var hasSerialNumber = true
    /// Whether the board has a device secret in OTP (`i` prints it); Gen 3 factory boards do.
    public var hasDeviceSecret = true
    /// Whether Device OS has a cloud session up (CLOUD_GET_CONNECTION_STATUS): set by the board's
    /// emulated cloud connection once its hello is through; lost at every reset.
    public internal(set) var cloudConnected = false
    /// What the board reports as its Device OS version (`SYSTEM_VERSION`, the `v` command).
    public var deviceOS = DeviceOSVersion(5, 8, 0)

    /// Update control (§8.3): all three reset at boot.
    public struct UpdateFlags: Hashable, Sendable {
        public var enabled = true
        public var forced = false
        public var pending = false
        public var status: UpdateStatus = .unknown
    }

    struct Transfer: Sendable {
        var size: Int
        var received: Int
        var chunkSize: Int
        /// OTA protocol v3 only: the file's SHA-256 (a resumed start must name the same file)
        /// and chunks that arrived ahead of the next expected one, by index.
        var sha256: [UInt8]? = nil
        var ahead: [Int: [UInt8]] = [:]
        /// A YMODEM abort left it open: Device OS 3.0.0 and later refuse every new start until
        /// a reset (firmware_update.cpp:121-124).
        var leftOpen = false
    }

    public init(platform: Platform, deviceID: String, defects: Set<Defect> = []) {
        self.platform = platform
        self.deviceID = deviceID
        self.storage = BoardStorage(platform: platform)
        self.defects = defects
    }

    /// Virtual time since the board was made.
    public var now: Duration { storage.elapsed + otherTime }
    public var appUptime: Duration? { mode == .running && runningApp != nil ? now - appStartedAt : nil }

    /// The modules in the board's slots, as Device OS would list them.
    public var modules: [InstalledModuleRecord] {
        ModuleTable.scan(platform: platform, flash: storage.contents.internalFlash)
    }

    public var updateInProgress: Bool { transfer != nil }
    /// How many bytes of an OTA transfer the board held when a power loss or reset last ended
    /// one: where a power cut landed, as the board saw it.
    public internal(set) var transferLostAt: Int?

    mutating func log(_ text: String) {
        if console.count >= consoleLimit { console.removeFirst(console.count / 2) }
        console.append(ConsoleLine(time: now, text: text))
        consoleLinesPrinted += 1
        // Log handlers on USB serial are muted while listening (spark_wiring_logging.cpp
        // :477-482, 544-549, 573-578): nothing gets into the console's answers or a transfer.
        if mode != .listening { write(text + "\r\n") }
    }

    // MARK: Power

    /// Cuts the power: RAM is gone, flash stays as it is.
    public mutating func powerOff() {
        mode = .off
        cloudConnected = false
        // What this power loss cut short, and nothing older: with no transfer under way, none.
        transferLostAt = transfer?.received
        transfer = nil
        runningApp = nil
        executingCorruptModule = nil
    }

    /// Restores power: the bootloader runs. A power cut injected into the boot's own flash
    /// operations leaves the board off.
    public mutating func powerOn() {
        lastResetReason = .powerDown
        boot()
    }

    /// A reset with a reason: the board restarts through its bootloader.
    public mutating func reset(_ reason: ResetReason) {
        events.append(.reset(reason))
        powerOff()
        lastResetReason = reason
        boot()
    }

    /// Boots through the bootloader, then Device OS; sets `mode`.
    mutating func boot() {
        mode = .off
        transfer = nil
        runningApp = nil
        executingCorruptModule = nil
        factoryRestoredThisBoot = false
        dfu = DfuSeMachine()
        control = ControlRequestChannel()
        ymodem = nil
        consoleDelay = nil
        heldInput = []
        // What the board wrote so far belongs to the USB line that the reset took away.
        unreadBeforeReset = serialOutput.count
        updateFlags = UpdateFlags()
        cloudConnected = false
        bootCount += 1
        otherTime += .milliseconds(300)
        log("bootloader: boot \(bootCount), reset reason \(lastResetReason.rawValue)")
        do {
            try runBootloader()
        } catch {
            mode = .off
            log("power lost at flash operation \(error.operation)")
        }
    }
}
