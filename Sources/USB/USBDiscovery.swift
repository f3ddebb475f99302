import CLibUSB
import CUDev
import Foundation

/// Finds USB devices: libusb lists them with their descriptors, libudev adds what sysfs
/// knows (serial number and strings) without opening them.
public enum USBDiscovery {
    /// Every USB device on the host.
    public static func devices() throws(USBError) -> [USBDeviceDescription] {
        var context: OpaquePointer?
        let status = libusb_init(&context)
        guard status == 0 else { throw USBError("libusb_init", libusb: status) }
        defer { libusb_exit(context) }
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { throw USBError("libusb_get_device_list", libusb: Int32(count)) }
        defer { libusb_free_device_list(list, 1) }
        let sysfs = udevDevices()
        var result: [USBDeviceDescription] = []
        for index in 0..<Int(count) {
            guard let device = list[index] else { continue }
            var descriptor = libusb_device_descriptor()
            guard libusb_get_device_descriptor(device, &descriptor) == 0 else { continue }
            let bus = libusb_get_bus_number(device)
            let address = libusb_get_device_address(device)
            let known = sysfs[Self.key(bus, address)]
            var ports = [UInt8](repeating: 0, count: 8)
            let depth = libusb_get_port_numbers(device, &ports, Int32(ports.count))
            result.append(USBDeviceDescription(
                bus: bus, address: address, vendorID: descriptor.idVendor, productID: descriptor.idProduct,
                serialNumber: known?.serial, manufacturer: known?.manufacturer, product: known?.product, sysPath: known?.sysPath,
                portNumbers: depth > 0 ? Array(ports.prefix(Int(depth))) : [], deviceClass: descriptor.bDeviceClass,
                usbVersion: descriptor.bcdUSB))
        }
        return result.sorted { ($0.bus, $0.address) < ($1.bus, $1.address) }
    }

    /// Particle devices (vendor 0x2B04), optionally only the one with this device id.
    public static func particleDevices(deviceID: String? = nil) throws(USBError) -> [USBDeviceDescription] {
        try devices().filter { device in
            device.vendorID == 0x2B04 && (deviceID.map { device.serialNumber?.lowercased() == $0.lowercased() } ?? true)
        }
    }

    /// The tty of a board's CDC serial interface (`/dev/ttyACM0`), found through libudev by the
    /// serial number of the USB device it belongs to.
    public static func tty(forDeviceID deviceID: String) -> String? {
        guard let udev = udev_new() else { return nil }
        defer { udev_unref(udev) }
        guard let enumerate = udev_enumerate_new(udev) else { return nil }
        defer { udev_enumerate_unref(enumerate) }
        udev_enumerate_add_match_subsystem(enumerate, "tty")
        udev_enumerate_scan_devices(enumerate)
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            defer { entry = udev_list_entry_get_next(current) }
            guard let path = udev_list_entry_get_name(current), let tty = udev_device_new_from_syspath(udev, path) else { continue }
            defer { udev_device_unref(tty) }
            // The parent is owned by the child; it must not be unreferenced.
            guard let usb = udev_device_get_parent_with_subsystem_devtype(tty, "usb", "usb_device"),
                  let serial = udev_device_get_sysattr_value(usb, "serial"),
                  String(cString: serial).trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == deviceID.lowercased(),
                  let node = udev_device_get_devnode(tty)
            else { continue }
            return String(cString: node)
        }
        return nil
    }

    static func key(_ bus: UInt8, _ address: UInt8) -> String { "\(bus)-\(address)" }

    struct SysfsDevice {
        var serial: String?
        var manufacturer: String?
        var product: String?
        var sysPath: String
    }

    /// usb_device entries from libudev, keyed by bus and device number.
    static func udevDevices() -> [String: SysfsDevice] {
        guard let udev = udev_new() else { return [:] }
        defer { udev_unref(udev) }
        guard let enumerate = udev_enumerate_new(udev) else { return [:] }
        defer { udev_enumerate_unref(enumerate) }
        udev_enumerate_add_match_subsystem(enumerate, "usb")
        udev_enumerate_add_match_property(enumerate, "DEVTYPE", "usb_device")
        udev_enumerate_scan_devices(enumerate)
        var result: [String: SysfsDevice] = [:]
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            defer { entry = udev_list_entry_get_next(current) }
            guard let path = udev_list_entry_get_name(current), let device = udev_device_new_from_syspath(udev, path) else { continue }
            defer { udev_device_unref(device) }
            func attribute(_ name: String) -> String? {
                udev_device_get_sysattr_value(device, name).map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            guard let bus = attribute("busnum").flatMap(UInt8.init), let number = attribute("devnum").flatMap(UInt8.init) else { continue }
            result[Self.key(bus, number)] = SysfsDevice(serial: attribute("serial"), manufacturer: attribute("manufacturer"),
                                                    product: attribute("product"), sysPath: String(cString: path))
        }
        return result
    }
}
