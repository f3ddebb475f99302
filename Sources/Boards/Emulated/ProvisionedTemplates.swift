import Emulator
import Firmware
import NIOConcurrencyHelpers
import ScenarioAPI

/// One provisioned board and firmware library per platform and Device OS release, built once
/// per process: every emulated board of that platform and release starts as a copy (sharing
/// flash pages until it writes).
public final class ProvisionedTemplates: Sendable {
    struct Template: Sendable {
        var firmware: FirmwareSet
        var board: BoardModel
        var library: FirmwareLibrary
    }

    public static let shared = ProvisionedTemplates()
    struct Key: Hashable {
        var platform: PlatformID
        var deviceOS: DeviceOSVersion?
    }

    private let templates = NIOLockedValueBox<[Key: Template]>([:])

    /// `deviceOS`: the release the board runs; nil for the emulator's default for the platform.
    func template(for platform: Platform, deviceOS: DeviceOSVersion? = nil) throws -> Template {
        let key = Key(platform: platform.id, deviceOS: deviceOS)
        if let cached = templates.withLockedValue({ $0[key] }) { return cached }
        let firmware = try FirmwareSet.standard(for: platform, deviceOS: deviceOS)
        let board = try BoardModel.provisioned(platform: platform, firmware: firmware)
        let template = Template(firmware: firmware, board: board, library: try FirmwareLibrary.built(for: platform, standard: firmware))
        templates.withLockedValue { $0[key] = template }
        return template
    }

    /// The images a board of `platform` on `deviceOS` is tested with when no firmware folder gives them.
    public func library(for platform: Platform, deviceOS: DeviceOSVersion? = nil) throws -> FirmwareLibrary {
        try template(for: platform, deviceOS: deviceOS).library
    }
}
