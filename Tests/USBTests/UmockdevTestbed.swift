import CUMockdev
import Foundation

import Emulator
import EmulatorServers

/// The one umockdev testbed of this test process: the preload reads `UMOCKDEV_DIR` once, so
/// every test adds its devices to this one.
let sharedUSB = UmockdevBoardServer()

enum UmockdevTestbed {
    /// Whether this process runs under the preload; without it the testbed is invisible.
    static var preloaded: Bool {
        ProcessInfo.processInfo.environment["LD_PRELOAD"]?.contains("umockdev") == true
    }

    /// A device record with the descriptors libusb reads from sysfs; its attributes end in a
    /// newline, as the kernel's do (umockdev unescapes `\\n`).
    static func usbDevice(bus: Int, address: Int, vendor: UInt16, product: UInt16, serial: String, name: String,
                          interfaceClass: UInt8 = 0xFE, interfaceSubclass: UInt8 = 0x01, interfaceProtocol: UInt8 = 0x02) -> String {
        let device: [UInt8] = [18, 1, 0x00, 0x02, 0, 0, 0, 64, UInt8(vendor & 0xFF), UInt8(vendor >> 8), UInt8(product & 0xFF),
                               UInt8(product >> 8), 0x50, 0x02, 1, 2, 3, 1]
        let interface: [UInt8] = [9, 4, 0, 0, 0, interfaceClass, interfaceSubclass, interfaceProtocol, 4]
        let functional: [UInt8] = [9, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x10, 0x1A, 0x01]
        let total = 9 + interface.count + functional.count
        let configuration: [UInt8] = [9, 2, UInt8(total & 0xFF), UInt8(total >> 8), 1, 1, 0, 0x80, 50]
        let descriptors = (device + configuration + interface + functional).map { String(format: "%02x", $0) }.joined()
        let node = String(format: "bus/usb/%03d/%03d", bus, address)  // boards the server adds sit on buses 1 and 3 up
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
            A: busnum=\(bus)\\n
            A: devnum=\(address)\\n
            A: speed=12\\n
            A: idVendor=\(String(format: "%04x", vendor))\\n
            A: idProduct=\(String(format: "%04x", product))\\n
            A: serial=\(serial)\\n
            A: manufacturer=Particle\\n
            A: product=\(name)\\n
            A: bConfigurationValue=1\\n
            A: bNumConfigurations=1\\n
            H: descriptors=\(descriptors)

            """
    }
}
