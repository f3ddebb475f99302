import CUMockdev
import Foundation

/// A umockdev testbed in this process: sysfs, udev and /dev entries that libusb and
/// libudev see once the process runs under umockdev's preload (`umockdev-wrapper`).
final class UmockdevTestbed {
    let testbed: OpaquePointer

    /// Whether this process runs under the preload; without it the testbed is invisible.
    static var preloaded: Bool {
        ProcessInfo.processInfo.environment["LD_PRELOAD"]?.contains("umockdev") == true
    }

    init() {
        testbed = OpaquePointer(umockdev_testbed_new())
    }

    deinit {
        g_object_unref(UnsafeMutableRawPointer(testbed))
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Adds a USB device from umockdev's record format.
    func add(_ record: String) throws {
        var error: UnsafeMutablePointer<GError>?
        let ok = umockdev_testbed_add_from_string(UnsafeMutablePointer(testbed), record, &error)
        if ok == 0 {
            let message = error.map { String(cString: $0.pointee.message) } ?? "unknown error"
            throw Failure(description: "umockdev could not add the device: \(message)")
        }
    }

    /// A device record with the descriptors libusb reads from sysfs.
    static func usbDevice(bus: Int, address: Int, vendor: UInt16, product: UInt16, serial: String, name: String,
                          interfaceClass: UInt8 = 0xFE, interfaceSubclass: UInt8 = 0x01, interfaceProtocol: UInt8 = 0x02) -> String {
        let device: [UInt8] = [18, 1, 0x00, 0x02, 0, 0, 0, 64, UInt8(vendor & 0xFF), UInt8(vendor >> 8), UInt8(product & 0xFF),
                               UInt8(product >> 8), 0x50, 0x02, 1, 2, 3, 1]
        let interface: [UInt8] = [9, 4, 0, 0, 0, interfaceClass, interfaceSubclass, interfaceProtocol, 4]
        let functional: [UInt8] = [9, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x10, 0x1A, 0x01]
        let total = 9 + interface.count + functional.count
        let configuration: [UInt8] = [9, 2, UInt8(total & 0xFF), UInt8(total >> 8), 1, 1, 0, 0x80, 50]
        let descriptors = (device + configuration + interface + functional).map { String(format: "%02x", $0) }.joined()
        let node = String(format: "bus/usb/%03d/%03d", bus, address)
        let path = "/devices/pci0000:00/0000:00:14.0/usb\(bus)/\(bus)-\(address)"
        return """
            P: \(path)
            N: \(node)
            E: SUBSYSTEM=usb
            E: DEVTYPE=usb_device
            E: DEVNAME=/dev/\(node)
            E: BUSNUM=\(String(format: "%03d", bus))
            E: DEVNUM=\(String(format: "%03d", address))
            E: ID_VENDOR_ID=\(String(format: "%04x", vendor))
            E: ID_MODEL_ID=\(String(format: "%04x", product))
            E: ID_SERIAL_SHORT=\(serial)
            A: busnum=\(bus)
            A: devnum=\(address)
            A: speed=12
            A: idVendor=\(String(format: "%04x", vendor))
            A: idProduct=\(String(format: "%04x", product))
            A: serial=\(serial)
            A: manufacturer=Particle
            A: product=\(name)
            A: bConfigurationValue=1
            A: bNumConfigurations=1
            H: descriptors=\(descriptors)

            """
    }
}
