import Emulator
import Firmware

/// The mode an emulated board served to other tools starts in.
public enum ServedStart: Sendable {
    case application
    case dfu
    case listening
}

extension BoardModel {
    /// The `serial`th provisioned board of a platform (1-based; it picks the device id), in
    /// `start`, on `deviceOS` (nil: the emulator's default for the platform).
    static func served(platform: Platform, deviceOS: DeviceOSVersion? = nil, serial: Int, defects: Set<Defect>, start: ServedStart) throws -> BoardModel {
        var model = try BoardModel.provisioned(platform: platform, deviceID: BoardModel.defaultDeviceID(platform, serial: serial),
                                               firmware: FirmwareSet.standard(for: platform, deviceOS: deviceOS), defects: defects)
        switch start {
        case .application: break
        case .dfu: model.enterDFUMode()
        case .listening: model.enterListeningMode()
        }
        return model
    }
}
