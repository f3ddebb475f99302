import Foundation
import Testing
import USB

/// Discovery through the real libusb and libudev, against devices umockdev emulates.
/// These run under umockdev's preload; `Scripts/test` runs them so.
extension EmulatedUSBTests {
    @Test("Particle boards are found by vendor, product id and device id; other devices are ignored")
    func discovery() throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does): the emulated USB devices are invisible otherwise")
        // Bus 20 and up: clear of the buses the server's boards take (1, then 3 up).
        let boronID = "e00fce68000d0000000000f1"
        try sharedUSB.add(record: UmockdevTestbed.usbDevice(bus: 20, address: 5, vendor: 0x2B04, product: 0xD00D, serial: boronID, name: "Boron DFU Mode"))
        try sharedUSB.add(record: UmockdevTestbed.usbDevice(bus: 20, address: 6, vendor: 0x2B04, product: 0xC020, serial: "0a10aced202194944a0412ab",
                                                            name: "P2", interfaceClass: 2, interfaceSubclass: 2, interfaceProtocol: 1))
        try sharedUSB.add(record: UmockdevTestbed.usbDevice(bus: 20, address: 7, vendor: 0x046D, product: 0xC52B, serial: "NOTPARTICLE", name: "Receiver"))

        let all = try USBDiscovery.devices().filter { $0.bus == 20 }
        #expect(all.count == 3, "\(all)")
        let particle = try USBDiscovery.particleDevices().filter { $0.bus == 20 }
        #expect(Set(particle.map(\.productID)) == [0xD00D, 0xC020])
        #expect(try USBDiscovery.devices().allSatisfy { $0.vendorID != 0x046D || $0.bus == 20 })
        let boron = try #require(try USBDiscovery.particleDevices(deviceID: boronID).first)
        #expect(boron.bus == 20 && boron.address == 5)
        #expect(boron.serialNumber == boronID)
        #expect(boron.product == "Boron DFU Mode")
        #expect(boron.sysPath?.hasSuffix("/20-5") == true)
        #expect(try USBDiscovery.particleDevices(deviceID: "ffffffffffffffffffffffff").isEmpty)
    }
}

extension EmulatedUSBTests {
    @Test("A board's CDC tty is found by its device id through libudev")
    func ttyOfBoard() throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let id = "e00fce68000c0000000000f9"
        try sharedUSB.add(record: UmockdevTestbed.usbDevice(bus: 21, address: 2, vendor: 0x2B04, product: 0xC00C, serial: id, name: "Argon",
                                                            interfaceClass: 2, interfaceSubclass: 2, interfaceProtocol: 1))
        let interface = "/devices/pci0000:00/0000:00:14.0/usb21/21-2/21-2:1.0"
        try sharedUSB.add(record: "P: \(interface)\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\nA: bInterfaceClass=02\n\n")
        try sharedUSB.add(record: "P: \(interface)/tty/ttyACM7\nN: ttyACM7\nE: SUBSYSTEM=tty\nE: DEVNAME=/dev/ttyACM7\n\n")
        #expect(USBDiscovery.tty(forDeviceID: id) == "/dev/ttyACM7")
        #expect(USBDiscovery.tty(forDeviceID: "e00fce68000c0000000000ff") == nil)
    }
}

extension EmulatedUSBTests {
    @Test("Hotplug: a board leaving DFU is seen as the DFU device removed and the normal one added")
    func hotplug() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        // The monitor must start after the testbed exists: the preload redirects udev's socket then.
        _ = sharedUSB.root
        let monitor = try USBHotplugMonitor()
        let index = try sharedUSB.serve(try Self.dfuBoard("boron", serial: 25))
        let id = sharedUSB.board(index).deviceID
        var events: [USBHotplugMonitor.Event] = []
        while let event = await monitor.next(timeout: .milliseconds(500)) { events.append(event) }
        #expect(events.contains { $0.action == "add" && $0.serialNumber == id && $0.productID == 0xD00D }, "\(events)")
        events = []
        sharedUSB.update(index) { $0.reset(.user) }
        while let event = await monitor.next(timeout: .milliseconds(500)) { events.append(event) }
        #expect(events.contains { $0.action == "remove" }, "\(events)")
        #expect(events.contains { $0.action == "add" && $0.serialNumber == id && $0.productID == 0xC00D }, "\(events)")
    }
}
