import Emulator
import Firmware
import NIOConcurrencyHelpers
import ScenarioAPI

/// One provisioned board and firmware library per platform, built once per process: every
/// emulated board of that platform starts as a copy (sharing flash pages until it writes).
public final class ProvisionedTemplates: Sendable {
    struct Template: Sendable {
        var firmware: FirmwareSet
        var board: BoardModel
        var library: FirmwareLibrary
    }

    public static let shared = ProvisionedTemplates()
    private let templates = NIOLockedValueBox<[PlatformID: Template]>([:])

    func template(for platform: Platform) throws -> Template {
        if let cached = templates.withLockedValue({ $0[platform.id] }) { return cached }
        let firmware = try FirmwareSet.standard(for: platform)
        let board = try BoardModel.provisioned(platform: platform, firmware: firmware)
        let template = Template(firmware: firmware, board: board, library: try FirmwareLibrary.built(for: platform, standard: firmware))
        templates.withLockedValue { $0[platform.id] = template }
        return template
    }

    /// The images a board of `platform` is tested with when no firmware folder gives them.
    public func library(for platform: Platform) throws -> FirmwareLibrary {
        try template(for: platform).library
    }
}
