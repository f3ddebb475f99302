import Firmware
import USB

/// A Particle board as USB shows it: which platform and mode its product id says (§1.2).
public struct ParticleDevice: Hashable, Sendable, CustomStringConvertible {
    public enum Mode: String, Hashable, Sendable {
        case normal
        case dfu
    }

    public var usb: USBDeviceDescription
    public var platform: Platform?
    public var mode: Mode
    /// The 24-hex-digit device id, from the USB serial number.
    public var deviceID: String? { usb.serialNumber?.lowercased() }

    public init?(_ usb: USBDeviceDescription) {
        guard usb.vendorID == USBIdentity.particleVendorID else { return nil }
        self.usb = usb
        if let platform = Platform.catalog.first(where: { $0.usb.dfuProductID == usb.productID }) {
            self.platform = platform
            mode = .dfu
        } else if let platform = Platform.catalog.first(where: { $0.usb.normalProductID == usb.productID }) {
            self.platform = platform
            mode = .normal
        } else {
            platform = nil
            mode = usb.productID & 0xF000 == 0xD000 ? .dfu : .normal
        }
    }

    /// Every Particle board on the host.
    public static func all() throws(USBError) -> [ParticleDevice] {
        try USBDiscovery.particleDevices().compactMap(ParticleDevice.init)
    }

    /// The board with this device id, in whatever mode it is.
    public static func find(deviceID: String) throws(USBError) -> ParticleDevice? {
        try USBDiscovery.particleDevices(deviceID: deviceID).compactMap(ParticleDevice.init).first
    }

    public var description: String {
        "\(platform?.buildName ?? "unknown platform") \(deviceID ?? "no id") in \(mode.rawValue) mode (\(usb))"
    }
}
