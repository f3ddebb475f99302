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
        let release = DeviceOSRelease(deviceOSVersion) ?? DeviceOSRelease(0, 0, 0)
        switch kind {
        case .getAssetInfo:
            // From 5.6.0 where HAL_PLATFORM_ASSETS (nRF52840, RTL872x). The emulated firmware
            // carries no assets, so both lists are empty: an empty message.
            guard platform.generation == .gen3, release >= DeviceOSRelease(5, 6, 0) else { return nil }
            return []
        case .getProtectedState:
            // From 6.1.0: {state, overridden}; an emulated board is never protected.
            guard release >= DeviceOSRelease(6, 1, 0) else { return nil }
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

    /// A SIM's ICCID for this board: 89 (telecom), 01 (country), 17 digits from the device id,
    /// and a Luhn check digit; the same board always gets the same one.
    public var iccid: String { Self.luhn("8901" + Self.digits(from: deviceID, count: 15)) }

    /// The modem's IMEI: 14 digits from the device id and a Luhn check digit.
    public var imei: String { Self.luhn("35" + Self.digits(from: String(deviceID.reversed()), count: 12)) }

    private static func digits(from text: String, count: Int) -> String {
        var state: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return String((0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Character(String((state >> 33) % 10))
        })
    }

    /// `digits` with its Luhn check digit appended.
    static func luhn(_ digits: String) -> String {
        let sum = digits.reversed().enumerated().reduce(0) { sum, item in
            let digit = Int(String(item.element))!
            let doubled = item.offset % 2 == 0 ? digit * 2 : digit
            return sum + (doubled > 9 ? doubled - 9 : doubled)
        }
        return digits + String((10 - sum % 10) % 10)
    }
}
