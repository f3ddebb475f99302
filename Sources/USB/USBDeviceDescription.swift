/// A USB device as discovery sees it, before anything opens it.
public struct USBDeviceDescription: Hashable, Sendable, CustomStringConvertible {
    public var bus: UInt8
    public var address: UInt8
    public var vendorID: UInt16
    public var productID: UInt16
    /// The serial number string; for Particle boards the 24-hex-digit device id (§1.2).
    public var serialNumber: String?
    public var manufacturer: String?
    public var product: String?
    /// The sysfs path (`/sys/devices/…/1-1`), from libudev.
    public var sysPath: String?
    /// The hub ports between the root hub and the device, outermost first.
    public var portNumbers: [UInt8] = []
    /// bDeviceClass: 9 for a hub.
    public var deviceClass: UInt8 = 0
    /// bcdUSB: 0x0300 and above for a SuperSpeed device.
    public var usbVersion: UInt16 = 0

    /// Where it is plugged in, as the kernel and uhubctl name it: `1-1.4` is port 4 of the hub
    /// on port 1 of bus 1's root hub; a root hub is just its bus number.
    public var location: String {
        portNumbers.isEmpty ? "\(bus)" : "\(bus)-" + portNumbers.map(String.init).joined(separator: ".")
    }

    public var description: String {
        let id = String(format: "%04x:%04x", vendorID, productID)
        return "bus \(bus) device \(address) \(id)" + (serialNumber.map { " serial \($0)" } ?? "")
    }
}
