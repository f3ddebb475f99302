import Foundation

/// A USB device as the kernel shows it in sysfs, written as umockdev records: the device's
/// directory with the attributes drivers/usb/core/sysfs.c gives every device, a directory per
/// interface, the uevent properties usb_dev_uevent and usb_if_uevent send, and the binary
/// `descriptors`. Every value comes from the descriptors, so what lsusb reads from sysfs and
/// what libusb reads from the device agree. Each text attribute ends in a newline as the
/// kernel's `sysfs_emit` writes it: lsusb drops a value's last byte as that newline.
struct USBSysfsDevice {
    /// Below /sys: `/devices/pci0000:00/0000:00:14.0/usb1/1-5`.
    var sysPath: String
    var bus: Int
    var devnum: Int
    /// In Mbit/s, as the `speed` attribute prints it.
    var speed: Int
    /// The device descriptor followed by the configuration descriptor and everything under it.
    var descriptors: [UInt8]
    /// String descriptors by index: what the manufacturer, product, serial, configuration and
    /// interface attributes show.
    var strings: [UInt8: String] = [:]
    /// A root hub (`usbN`): devpath 0, interfaces named `N-0:1.n`, authorized_default.
    var isRootHub = false
    var maxchild = 0
    /// The drivers bound to interfaces, by interface number (`hub` for hubs); the device itself is
    /// always bound to `usb`.
    var interfaceDrivers: [UInt8: String] = [:]

    var name: String { String(sysPath.split(separator: "/").last ?? "") }

    /// The port path after the bus ("5", "1.2"), "0" for a root hub.
    var devpath: String {
        isRootHub ? "0" : String(name.split(separator: "-", maxSplits: 1).last ?? "")
    }

    private var interfacePrefix: String { isRootHub ? "\(bus)-0" : name }

    struct Interface {
        var number: UInt8
        var alternate: UInt8
        var endpoints: UInt8
        var klass: UInt8
        var subclass: UInt8
        var proto: UInt8
        var string: UInt8
        /// The interface association covering it: first interface, count, class, subclass, protocol.
        var association: (first: UInt8, count: UInt8, klass: UInt8, subclass: UInt8, proto: UInt8)?
    }

    /// The interfaces of the configuration, alternate setting 0 of each: the one the kernel
    /// shows until a driver picks another.
    var interfaces: [Interface] {
        var found: [Interface] = []
        var associations: [(first: UInt8, count: UInt8, klass: UInt8, subclass: UInt8, proto: UInt8)] = []
        var offset = 18
        while offset + 1 < descriptors.count {
            let length = Int(descriptors[offset]), type = descriptors[offset + 1]
            guard length >= 2, offset + length <= descriptors.count else { break }
            let bytes = Array(descriptors[offset..<offset + length])
            if type == 0x0B, length >= 8 {
                associations.append((bytes[2], bytes[3], bytes[4], bytes[5], bytes[6]))
            } else if type == 4, length >= 9, bytes[3] == 0 {
                let association = associations.first { bytes[2] >= $0.first && bytes[2] < $0.first &+ $0.count }
                found.append(Interface(number: bytes[2], alternate: bytes[3], endpoints: bytes[4], klass: bytes[5], subclass: bytes[6],
                                       proto: bytes[7], string: bytes[8], association: association))
            }
            offset += length
        }
        return found
    }

    /// The interface directories, children of the device's.
    var interfacePaths: [String] { interfaces.map { "\(sysPath)/\(interfacePrefix):1.\($0.number)" } }

    var node: String { String(format: "bus/usb/%03d/%03d", bus, devnum) }

    /// The device and its interfaces, in umockdev's record format, the device first.
    var text: String {
        ([deviceRecord] + zip(interfaces, interfacePaths).map { interfaceRecord($0, path: $1) }).joined()
    }

    private func byte(_ offset: Int) -> UInt8 { offset < descriptors.count ? descriptors[offset] : 0 }
    private func word(_ offset: Int) -> UInt16 { UInt16(byte(offset)) | UInt16(byte(offset + 1)) << 8 }

    private var vendorID: UInt16 { word(8) }
    private var productID: UInt16 { word(10) }
    private var bcdDevice: UInt16 { word(12) }

    /// `..` up from a directory `depth` levels below /sys to /sys itself.
    private static func up(_ path: String, extra: Int = 0) -> String {
        String(repeating: "../", count: path.split(separator: "/").count + extra)
    }

    /// A text attribute; umockdev unescapes `A:` values, so the newline is written escaped.
    private static func attribute(_ name: String, _ value: String) -> String { "A: \(name)=\(value)\\n" }

    private var deviceRecord: String {
        let vendor = String(format: "%04x", vendorID), product = String(format: "%04x", productID)
        let revision = String(format: "%04x", bcdDevice)
        let bcdUSB = word(2)
        let configurationString = byte(18 + 6)
        // bMaxPower counts 2 mA units, 8 mA at SuperSpeed.
        let power = Int(byte(18 + 8)) * (speed >= 5000 ? 8 : 2)
        let minor = (bus - 1) * 128 + devnum - 1
        let interfaceClasses = interfaces.map { String(format: ":%02x%02x%02x", $0.klass, $0.subclass, $0.proto) }
        var lines = [
            "P: \(sysPath)", "N: \(node)",
            "E: SUBSYSTEM=usb", "E: DEVTYPE=usb_device", "E: DRIVER=usb", "E: DEVNAME=/dev/\(node)",
            "E: PRODUCT=\(String(vendorID, radix: 16))/\(String(productID, radix: 16))/\(String(bcdDevice, radix: 16))",
            "E: TYPE=\(byte(4))/\(byte(5))/\(byte(6))",
            "E: BUSNUM=\(String(format: "%03d", bus))", "E: DEVNUM=\(String(format: "%03d", devnum))",
            "E: MAJOR=189", "E: MINOR=\(minor)",
            // What udev's usb_id builtin adds; our discovery matches on the serial.
            "E: ID_VENDOR_ID=\(vendor)", "E: ID_MODEL_ID=\(product)", "E: ID_REVISION=\(revision)",
            "E: ID_USB_INTERFACES=\(Array(Set(interfaceClasses)).sorted().joined()):",
        ]
        func udevName(_ text: String) -> String { String(text.map { $0 == " " ? "_" : $0 }) }
        if let manufacturer = strings[byte(14)], byte(14) != 0 { lines.append("E: ID_VENDOR=\(udevName(manufacturer))") }
        if let model = strings[byte(15)], byte(15) != 0 { lines.append("E: ID_MODEL=\(udevName(model))") }
        if let serial = strings[byte(16)], byte(16) != 0 {
            lines.append("E: ID_SERIAL_SHORT=\(serial)")
            lines.append("E: ID_SERIAL=\([strings[byte(14)], strings[byte(15)], serial].compactMap { $0.map(udevName) }.joined(separator: "_"))")
        }
        lines += [
            Self.attribute("authorized", "1"),
            Self.attribute("avoid_reset_quirk", "0"),
            Self.attribute("bConfigurationValue", "\(byte(18 + 5))"),
            Self.attribute("bDeviceClass", String(format: "%02x", byte(4))),
            Self.attribute("bDeviceSubClass", String(format: "%02x", byte(5))),
            Self.attribute("bDeviceProtocol", String(format: "%02x", byte(6))),
            Self.attribute("bMaxPacketSize0", "\(byte(7))"),
            Self.attribute("bMaxPower", "\(power)mA"),
            Self.attribute("bNumConfigurations", "\(byte(17))"),
            Self.attribute("bNumInterfaces", String(format: "%2d", byte(18 + 4))),
            Self.attribute("bcdDevice", revision),
            Self.attribute("bmAttributes", String(format: "%2x", byte(18 + 7))),
            Self.attribute("busnum", "\(bus)"),
            Self.attribute("devnum", "\(devnum)"),
            Self.attribute("devpath", devpath),
            Self.attribute("idProduct", product),
            Self.attribute("idVendor", vendor),
            Self.attribute("ltm_capable", "no"),
            Self.attribute("maxchild", "\(maxchild)"),
            Self.attribute("quirks", "0x0"),
            Self.attribute("removable", isRootHub ? "unknown" : "removable"),
            Self.attribute("rx_lanes", "1"),
            Self.attribute("speed", "\(speed)"),
            Self.attribute("tx_lanes", "1"),
            Self.attribute("urbnum", "0"),
            Self.attribute("version", String(format: "%2x.%02x", bcdUSB >> 8, bcdUSB & 0xFF)),
        ]
        // The string attributes exist only when the device names the string; `configuration`
        // always exists, empty without a string.
        for (attribute, index) in [("manufacturer", byte(14)), ("product", byte(15)), ("serial", byte(16))] {
            if index != 0, let text = strings[index] { lines.append(Self.attribute(attribute, text)) }
        }
        if configurationString != 0, let text = strings[configurationString] {
            lines.append(Self.attribute("configuration", text))
        } else {
            lines.append("A: configuration=")
        }
        if isRootHub { lines += [Self.attribute("authorized_default", "1"), Self.attribute("interface_authorized_default", "1")] }
        lines.append("L: driver=\(Self.up(sysPath))bus/usb/drivers/usb")
        lines.append("H: descriptors=" + descriptors.map { String(format: "%02x", $0) }.joined())
        return lines.joined(separator: "\n") + "\n\n"
    }

    private func interfaceRecord(_ interface: Interface, path: String) -> String {
        let modalias = String(format: "usb:v%04Xp%04Xd%04Xdc%02Xdsc%02Xdp%02Xic%02Xisc%02Xip%02Xin%02X", vendorID, productID, bcdDevice,
                              byte(4), byte(5), byte(6), interface.klass, interface.subclass, interface.proto, interface.number)
        var lines = [
            "P: \(path)",
            "E: SUBSYSTEM=usb", "E: DEVTYPE=usb_interface",
            "E: PRODUCT=\(String(vendorID, radix: 16))/\(String(productID, radix: 16))/\(String(bcdDevice, radix: 16))",
            "E: TYPE=\(byte(4))/\(byte(5))/\(byte(6))",
            "E: INTERFACE=\(interface.klass)/\(interface.subclass)/\(interface.proto)",
            "E: MODALIAS=\(modalias)",
            Self.attribute("authorized", "1"),
            Self.attribute("bAlternateSetting", String(format: "%2d", interface.alternate)),
            Self.attribute("bInterfaceClass", String(format: "%02x", interface.klass)),
            Self.attribute("bInterfaceNumber", String(format: "%02x", interface.number)),
            Self.attribute("bInterfaceProtocol", String(format: "%02x", interface.proto)),
            Self.attribute("bInterfaceSubClass", String(format: "%02x", interface.subclass)),
            Self.attribute("bNumEndpoints", String(format: "%02x", interface.endpoints)),
            Self.attribute("modalias", modalias),
            Self.attribute("supports_autosuspend", "1"),
        ]
        if interface.string != 0, let text = strings[interface.string] { lines.append(Self.attribute("interface", text)) }
        if let association = interface.association {
            lines += [
                Self.attribute("iad_bFirstInterface", String(format: "%02x", association.first)),
                Self.attribute("iad_bInterfaceCount", String(format: "%02d", association.count)),
                Self.attribute("iad_bFunctionClass", String(format: "%02x", association.klass)),
                Self.attribute("iad_bFunctionSubClass", String(format: "%02x", association.subclass)),
                Self.attribute("iad_bFunctionProtocol", String(format: "%02x", association.proto)),
            ]
        }
        if let driver = interfaceDrivers[interface.number] {
            lines.append("E: DRIVER=\(driver)")
            lines.append("L: driver=\(Self.up(path))bus/usb/drivers/\(driver)")
        }
        return lines.joined(separator: "\n") + "\n\n"
    }
}
