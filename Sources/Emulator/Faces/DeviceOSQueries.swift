import ControlRequests
import Firmware

/// The control requests that ask Device OS about the device rather than its firmware: asset
/// info, protection, cloud status, network interfaces, ICCID. Which of them a board answers
/// depends on its platform and Device OS version, as the `#if`s and cases of
/// system/src/system_control_internal.cpp do; a request without a handler is SYSTEM_ERROR_NOT_SUPPORTED
/// (-120, v5.8.0:383-391).
extension BoardModel {
    /// The reply, or nil when this Device OS on this platform has no handler for the request.
    func deviceQuery(_ kind: ControlRequestType) -> [UInt8]? {
        let release = deviceOS
        switch kind {
        case .getAssetInfo:
            // From 5.6.0 where HAL_PLATFORM_ASSETS (nRF52840, RTL872x). The emulated firmware
            // carries no assets, so both lists are empty: an empty message.
            guard platform.generation == .gen3, release >= DeviceOSVersion(5, 6, 0) else { return nil }
            return []
        case .getProtectedState:
            // From 6.1.0: {state, overridden}; an emulated board is never protected.
            guard release >= DeviceOSVersion(6, 1, 0) else { return nil }
            return []
        case .cloudConnectionStatus:
            // Every platform (Gen 2 too): DISCONNECTED 0, CONNECTING 1, CONNECTED 2.
            return ProtobufFields.field(1, varint: cloudConnected ? 2 : 0)
        case .networkInterfaceList:
            guard let interfaces = NetworkInterface.deviceOS(on: platform) else { return nil }
            return interfaces.flatMap { interface in
                ProtobufFields.field(1, bytes: ProtobufFields.field(1, varint: UInt64(interface.index))
                    + ProtobufFields.field(2, string: interface.name) + ProtobufFields.field(3, varint: UInt64(interface.type.rawValue)))
            }
        case .cellularIccid:
            guard NetworkInterface.hasCellularModem(platform) else { return nil }
            return ProtobufFields.field(1, string: iccid) + ProtobufFields.field(2, string: imei)
        default:
            return nil
        }
    }
}
