import Firmware

/// What a board says it is beyond its device id: the OTP serial number, and on a cellular
/// board the modem's identity that listening mode's `i` prints. Emulated values, fixed by the
/// device id so that one board always says the same.
extension BoardModel {
    /// 15 characters, as Particle's factory serial numbers (deviceid_hal.cpp); nil on a board
    /// provisioned without one.
    public var serialNumber: String? { hasSerialNumber ? "P0" + deviceID.suffix(13).uppercased() : nil }

    /// 15 printable characters in OTP (nRF52840) or eFuse (RTL872x), which Gen 3 factory boards
    /// carry and `i` prints first (hal_get_device_secret, deviceid_hal.cpp); nil on Gen 2, whose
    /// HAL has none, and on a board provisioned without one.
    public var deviceSecret: String? {
        guard hasDeviceSecret, platform.generation == .gen3 else { return nil }
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let seed = UInt64(deviceID.suffix(16), radix: 16) ?? 0
        return String(FirmwareSet.filler(15, seed: seed).map { alphabet[Int($0) % alphabet.count] })
    }

    /// Whether Device OS on the board has Wi-Fi: the MAC address `m` prints is its interface's.
    public var hasWiFi: Bool {
        guard let interfaces = NetworkInterface.deviceOS(on: platform) else { return !platform.cellular }
        return interfaces.contains { $0.type == .wifi }
    }

    /// 15 digits, the last a Luhn check digit, as a modem reports it.
    public var imei: String { Self.withLuhnDigit("35275309" + digits(6)) }

    /// 20 digits starting with the telecom prefix 89, the last a Luhn check digit.
    public var iccid: String { Self.withLuhnDigit("89014103" + digits(11)) }

    /// The modem's firmware (`cellfw`): a u-blox version on the Electron, Boron and B SoM, a
    /// Quectel one on the others.
    public var cellRadioVersion: String {
        [10, 13, 23].contains(platform.id.rawValue) ? "L0.0.00.00.05.12,A.02.21" : "EG91NAXGAR07A07M1G_01.016.01.016"
    }

    /// Decimal digits derived from the device id's hex.
    private func digits(_ count: Int) -> String {
        let values = deviceID.utf8.reversed().map { Int($0) % 10 }
        return String((0..<count).map { Character(String(values[$0 % max(1, values.count)])) })
    }

    static func withLuhnDigit(_ body: String) -> String {
        let sum = body.reversed().enumerated().reduce(0) { sum, item in
            let digit = Int(String(item.element))!
            let doubled = item.offset % 2 == 0 ? digit * 2 : digit
            return sum + (doubled > 9 ? doubled - 9 : doubled)
        }
        return body + String((10 - sum % 10) % 10)
    }
}
