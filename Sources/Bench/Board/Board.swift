import Firmware
import Foundation

/// One board as a scenario sees it, whatever drives it: an emulated board in the process,
/// or (later) a real one on USB. A scenario never names the kind.
public protocol Board: Sendable {
    var name: String { get }
    var platform: Platform { get }
    var deviceID: String { get }
    var capabilities: Set<Capability> { get }

    func mode() async -> BoardMode
    func modules() async throws -> [ModuleSummary]
    /// The user application the board runs, when it runs one.
    func runningApp() async throws -> ModuleSummary?

    /// Writes a module image at its own start address through the bootloader's DFU, and leaves.
    func flash(_ image: FirmwareImage, via path: FlashPath) async throws
    /// The same, cutting the power mid-write when the cut's trigger fires; the power is back on
    /// when it returns.
    func flash(_ image: FirmwareImage, via path: FlashPath, cuttingPower cut: PowerCut) async throws
    /// Sends an image to the running Device OS, which validates, queues and restarts.
    func update(to image: FirmwareImage, via path: UpdatePath, cuttingPower cut: PowerCut?) async throws
    /// Announces `image` but sends only its first `bytes` before finishing: a host that
    /// stopped short (a crash, a USB glitch). The board must refuse it.
    func updateCutShort(to image: FirmwareImage, sending bytes: Int) async throws

    func reset() async throws
    func enterDFU() async throws
    func enterSafeMode() async throws
    func enterListeningMode() async throws

    func powerOff() async throws
    func powerOn() async throws

    /// Everything the board printed since the bench started following it.
    func consoleLines() async -> [String]
    /// The file its console is captured to, when it is read from a serial port.
    var consoleLog: URL? { get async }
    /// Waits for a console line containing `text`, printed after `after` lines; returns it.
    func waitForConsoleLine(containing text: String, after: Int, timeout: Duration) async throws -> String
    /// Waits until the board runs Device OS again (after a reset, an update, a power cycle).
    func waitUntilUp(timeout: Duration) async throws -> BoardMode

    /// Application-side update control (System.disableUpdates / enableUpdates).
    func setUpdatesEnabled(_ enabled: Bool) async throws
    /// The cloud's pending / forced notices (§8.3).
    func sendCloudNotice(pending: Bool?, forced: Bool?) async throws
    /// App events the board emitted since the last call.
    func takeEvents() async -> [BoardEventName]
    /// What the last power cut of an update did: when its trigger fired, where it landed, how long the switch took.
    func lastPowerCut() async -> PowerCutRecord?
    /// A new case starts: forget the last power cut and the events not taken, and from now on
    /// `consoleLines()` holds only what the board prints from here. Nothing a case records may
    /// come from the case before it.
    func beginCase() async
}

extension Board {
    public var consoleLog: URL? { get async { nil } }

    /// What the host's lease is named for: the device id, which every inventory of the host
    /// shares for a board, whatever name it gives it.
    public var leaseKey: String { deviceID.isEmpty ? "board-\(name)" : deviceID.lowercased() }
}

/// What a board can do, for matching scenarios to boards.
public enum Capability: String, Hashable, Sendable, Codable, CaseIterable {
    case dfu
    case controlRequests = "control-requests"
    case serial
    case powerControl = "power-control"
    /// The application's and the cloud's side of update control (disableUpdates, pending and
    /// forced notices) and the app events: the emulator has them; a real board needs the cloud path.
    case updateControl = "update-control"
    /// OTA through a cloud API (protocol v3 to the board): emulated boards through the local
    /// cloud over their TLS session; boards on USB through Particle's when the bench has a token.
    case cloudOTA = "cloud-ota"
}

public enum FlashPath: String, Hashable, Sendable { case dfu }

public enum UpdatePath: String, Hashable, Sendable {
    case controlRequests = "control-requests"
    case cloud
    /// Listening mode's `f` and YMODEM: Gen 2-era Device OS only.
    case serialYModem = "serial-ymodem"
}

/// What a board runs, as the bench reports it.
public enum BoardMode: Hashable, Sendable, CustomStringConvertible {
    case off
    case running
    case safeMode(String)
    case listening
    case dfu
    case unreachable(String)

    public var description: String {
        switch self {
        case .off: "off"
        case .running: "running"
        case .safeMode(let reason): "safe mode (\(reason))"
        case .listening: "listening"
        case .dfu: "DFU"
        case .unreachable(let reason): "unreachable (\(reason))"
        }
    }

    public var isSafeMode: Bool { if case .safeMode = self { true } else { false } }
}

/// A module in a board's table, identified well enough to tell images apart.
public struct ModuleSummary: Hashable, Sendable, CustomStringConvertible {
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16
    public var size: Int
    /// The SHA-256 (hex) the module's suffix carries: the firmware's unique id, which tells two
    /// builds apart and which a board reports over USB as well as the emulator reads it.
    public var fingerprint: String
    public var valid: Bool
    public var dependencies: [ModuleDependency]

    public init(function: ModuleFunction, index: UInt8, version: UInt16, size: Int, fingerprint: String, valid: Bool,
                dependencies: [ModuleDependency] = []) {
        self.function = function
        self.index = index
        self.version = version
        self.size = size
        self.fingerprint = fingerprint
        self.valid = valid
        self.dependencies = dependencies
    }

    public var installed: InstalledModule {
        InstalledModule(function: function, index: index, version: version, dependencies: dependencies)
    }

    public var description: String {
        "\(function) \(index) v\(version), \(size) bytes, \(fingerprint.prefix(12))\(valid ? "" : " (INVALID)")"
    }
}

/// Device-side app events a scenario can wait for (§8.3).
public enum BoardEventName: String, Hashable, Sendable {
    case firmwareUpdateBegin = "firmware_update/begin"
    case firmwareUpdateProgress = "firmware_update/progress"
    case firmwareUpdateComplete = "firmware_update/complete"
    case firmwareUpdateFailed = "firmware_update/failed"
    case firmwareUpdatePending = "firmware_update_pending"
    case updatesEnabledPublished = "particle/device/updates/enabled"
    case updatesForcedPublished = "particle/device/updates/forced"
    case reset
}

/// A module image with where it came from.
public struct FirmwareImage: Hashable, Sendable, CustomStringConvertible {
    public var role: FirmwareRole?
    public var bytes: [UInt8]
    public var label: String

    public init(bytes: [UInt8], label: String, role: FirmwareRole? = nil) {
        self.bytes = bytes
        self.label = label
        self.role = role
    }

    public var module: FirmwareModule? { (try? ModuleFile(bytes: bytes))?.modules.first }
    /// The SHA-256 (hex) in the image's suffix, as a board will report it once installed.
    public var fingerprint: String? { module?.suffix?.sha256.hexString }
    public var description: String { label }
}
