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

    public var description: String {
        let id = String(format: "%04x:%04x", vendorID, productID)
        return "bus \(bus) device \(address) \(id)" + (serialNumber.map { " serial \($0)" } ?? "")
    }
}
