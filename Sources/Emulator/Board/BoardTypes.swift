import Firmware

/// What a board is doing, as a bench can observe it.
public enum EmulatedMode: Hashable, Sendable {
    /// No power.
    case off
    /// Device OS runs the user application (or none, when no app is installed).
    case running
    /// Device OS runs without the application: breathing magenta (§4).
    case safeMode(reason: String)
    /// Blinking dark blue: the serial console takes listening-mode commands (§7).
    case listening
    /// The bootloader's DFU mode: blinking yellow; the board answers with its DFU product id.
    case dfu
    /// Nothing runs and DFU is not reachable: the board needs a debugger.
    case bricked(reason: String)

    public var name: String {
        switch self {
        case .off: "off"
        case .running: "running"
        case .safeMode: "safe mode"
        case .listening: "listening"
        case .dfu: "DFU"
        case .bricked: "bricked"
        }
    }

    /// The USB product id the board enumerates with, nil when it is not on USB.
    public func productID(_ platform: Platform) -> UInt16? {
        switch self {
        case .off, .bricked: nil
        case .dfu: platform.usb.dfuProductID
        case .running, .safeMode, .listening: platform.usb.normalProductID
        }
    }
}

/// Why the board last started (Device OS reset reasons).
public enum ResetReason: String, Hashable, Sendable {
    case powerDown = "power-down"
    case update
    case user
    case dfuMode = "dfu-mode"
    case safeMode = "safe-mode"
    case factoryReset = "factory-reset"
}

/// The `firmware_update` app event's sub-states (§8.3).
public enum FirmwareUpdateStage: Int, Hashable, Sendable {
    case begin = 0
    case complete = 1
    case progress = 2
    case failed = -1
}

/// Events the application or the cloud would see (§8.3).
public enum BoardEvent: Hashable, Sendable {
    case firmwareUpdate(FirmwareUpdateStage)
    case firmwareUpdatePending
    case firmwareUpdateStatus(UpdateStatus)
    /// Published to the cloud: `particle/device/updates/enabled`.
    case updatesEnabledPublished(Bool)
    /// Echoed to the cloud: `particle/device/updates/forced`.
    case updatesForcedPublished(Bool)
    case reset(ResetReason)
}

/// `system_get_update_status` (§8.3).
public enum UpdateStatus: Int, Hashable, Sendable {
    case unknown = 0
    case notAvailable = 1
    case pending = 2
    case inProgress = 3
}

/// Realistic firmware bugs a board can be switched to have, so that a scenario can be shown
/// to catch the one it is about. All are off by default.
public enum Defect: String, Hashable, Sendable, CaseIterable, Codable {
    /// Neither the OTA validation nor the bootloader checks the CRC.
    case skipCRCCheck = "skip-crc"
    /// The bootloader clears a module slot before copying, so a cut copy is not redone.
    case nonAtomicApply = "non-atomic-apply"
    /// Images for another platform are accepted.
    case ignorePlatformID = "ignore-platform"
    /// Unmet dependencies neither block an update nor force safe mode.
    case ignoreDependencies = "ignore-dependencies"
    /// `disableUpdates()` does not hold updates back.
    case ignoreDisableUpdates = "ignore-disable-updates"
    /// A transfer that ends early is validated and applied anyway.
    case acceptTruncatedImage = "accept-truncated"
    /// The cloud's forced notice does not override `disableUpdates()`.
    case ignoreForcedUpdates = "ignore-forced"
}

/// One line the board printed, stamped with the virtual clock.
public struct ConsoleLine: Hashable, Sendable, CustomStringConvertible {
    public var time: Duration
    public var text: String
    public var description: String { text }
}
