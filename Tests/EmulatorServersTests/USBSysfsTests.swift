@testable import EmulatorServers
import Emulator
import Firmware
import Testing

/// What the kernel's sysfs shows of a device, in umockdev's record format, and the device
/// numbers it hands out (drivers/usb/core/sysfs.c, hub.c).
@Suite("USB sysfs records and device numbers")
struct USBSysfsTests {
    @Test("Device numbers: 2 up (1 is the root hub), a number given back is not reused until the counter wraps past 127")
    func deviceNumbers() {
        var numbers = DeviceNumbers()
        #expect(numbers.take() == 2)
        #expect(numbers.take() == 3)
        numbers.release(2)
        #expect(numbers.take() == 4)
        for expected in 5...127 { #expect(numbers.take() == expected) }
        // Wrapped: the first free from 1 up, skipping the root hub's and those in use.
        #expect(numbers.take() == 2)
        #expect(numbers.take() == nil)
    }

    static func boron(_ mode: EmulatedMode) -> USBSysfsDevice {
        let descriptors = USBDescriptors(platform: Platform(buildName: "boron")!, mode: mode, deviceID: "e00fce68000d000000000011")
        return USBSysfsDevice(sysPath: "/devices/pci0000:00/0000:00:14.0/usb1/1-5", bus: 1, devnum: 7, speed: 12,
                              descriptors: descriptors.device + descriptors.configuration, strings: descriptors.strings)
    }

    /// The record's `A:` lines as name → value, with the escaped newline umockdev unescapes.
    static func attributes(_ record: String, of path: String) -> [String: String] {
        let paragraph = record.components(separatedBy: "\n\n").first { $0.hasPrefix("P: \(path)\n") } ?? ""
        var found: [String: String] = [:]
        for line in paragraph.split(separator: "\n") where line.hasPrefix("A: ") {
            let pair = line.dropFirst(3).split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            found[String(pair[0])] = String(pair[1])
        }
        return found
    }

    @Test("Device attributes in the kernel's formats, each ending in a newline; configuration empty without a string")
    func deviceAttributes() {
        let record = Self.boron(.running)
        let attributes = Self.attributes(record.text, of: record.sysPath)
        let expected = [
            "idVendor": "2b04", "idProduct": "c00d", "bcdDevice": "0102", "version": " 2.00", "bDeviceClass": "ef", "bDeviceSubClass": "02",
            "bDeviceProtocol": "01", "bMaxPacketSize0": "64", "bNumConfigurations": "1", "bNumInterfaces": " 3", "bConfigurationValue": "1",
            "bmAttributes": "c0", "bMaxPower": "500mA", "busnum": "1", "devnum": "7", "devpath": "5", "maxchild": "0", "speed": "12",
            "manufacturer": "Particle", "product": "Boron CDC Mode", "serial": "e00fce68000d000000000011", "rx_lanes": "1", "tx_lanes": "1",
        ]
        for (name, value) in expected { #expect(attributes[name] == value + "\\n", "\(name)") }
        #expect(attributes["configuration"] == "")
        #expect(record.text.contains("E: PRODUCT=2b04/c00d/102\n") && record.text.contains("E: TYPE=239/2/1\n"))
        #expect(record.text.contains("E: MAJOR=189\nE: MINOR=6\n"))
        #expect(record.text.contains("L: driver=../../../../../bus/usb/drivers/usb\n"))
        #expect(record.node == "bus/usb/001/007")
    }

    @Test("One directory per interface: class, number, endpoints, the IAD's fields on the two CDC interfaces, the control interface's string")
    func interfaces() {
        let record = Self.boron(.running)
        #expect(record.interfacePaths == ["1-5:1.0", "1-5:1.1", "1-5:1.2"].map { record.sysPath + "/" + $0 })
        let control = Self.attributes(record.text, of: record.sysPath + "/1-5:1.0")
        #expect(control["bInterfaceClass"] == "02\\n" && control["bNumEndpoints"] == "01\\n" && control["bAlternateSetting"] == " 0\\n")
        #expect(control["iad_bFirstInterface"] == "00\\n" && control["iad_bInterfaceCount"] == "02\\n" && control["iad_bFunctionClass"] == "02\\n")
        #expect(control["modalias"] == "usb:v2B04pC00Dd0102dcEFdsc02dp01ic02isc02ip01in00\\n")
        let vendor = Self.attributes(record.text, of: record.sysPath + "/1-5:1.2")
        #expect(vendor["bInterfaceClass"] == "ff\\n" && vendor["interface"] == "Boron Control Interface\\n" && vendor["iad_bFirstInterface"] == nil)
        let dfu = Self.boron(.dfu)
        #expect(dfu.interfacePaths.count == 1)
        let alt = Self.attributes(dfu.text, of: dfu.sysPath + "/1-5:1.0")
        #expect(alt["bInterfaceClass"] == "fe\\n" && alt["interface"]?.hasPrefix("@Internal Flash") == true)
        #expect(Self.attributes(dfu.text, of: dfu.sysPath)["configuration"] == "Boron DFU Mode\\n")
    }

    @Test("Boards fill bus 1's root ports from 5 to 31, then buses 3 up from port 1")
    func rootPorts() {
        #expect(UmockdevBoardServer.rootPort(forBoard: 0) == (1, 5))
        #expect(UmockdevBoardServer.rootPort(forBoard: 26) == (1, 31))
        #expect(UmockdevBoardServer.rootPort(forBoard: 27) == (3, 1))
        #expect(UmockdevBoardServer.rootPort(forBoard: 27 + 31) == (4, 1))
    }
}
