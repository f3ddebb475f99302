import Emulator
import EmulatorServers
import Firmware
import Foundation
import TestSupport
import Testing
import USB

/// The add/remove race behind "umockdev.vala:431: device … already exists" (an abort) and
/// "umockdev_testbed_remove_device(): … does not exist": a board's USB identity changed from
/// several threads at once (tests, the ioctl thread, reset timers) must be published once and
/// removed once, whatever the interleaving.
extension EmulatedUSBTests {
    @Test("A board reset, powered and switched to DFU from eight threads at once stays published exactly as it is")
    func concurrentRepublication() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let boron = try #require(Platform(buildName: "boron"))
        let deviceID = BoardModel.defaultDeviceID(boron, serial: 97)
        let index = try sharedUSB.serve(try BoardModel.provisioned(platform: boron, deviceID: deviceID))
        // Every thread changes the board's identity in its own order; a crash here is the finding.
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var random = SplitMix64(seed: UInt64(thread + 1))
            for _ in 0..<150 {
                switch random.next() % 4 {
                case 0: sharedUSB.update(index) { $0.reset(.user) }
                case 1: sharedUSB.update(index) { $0.enterDFUMode() }
                case 2: sharedUSB.update(index) { $0.powerOff() }
                default: sharedUSB.update(index) { $0.powerOn() }
                }
            }
        }
        // Settle on a running board; after the reset gap it is on USB once, in normal mode.
        sharedUSB.update(index) { $0.powerOn() }
        sharedUSB.update(index) { $0.reset(.user) }
        var found: [USBDeviceDescription] = []
        for _ in 0..<200 {
            found = try USBDiscovery.particleDevices(deviceID: deviceID)
            if found.count == 1, found[0].productID == boron.usb.normalProductID { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(found.count == 1 && found.first?.productID == boron.usb.normalProductID, "\(found)")
        // And it still follows the model: in DFU it is the DFU device, off it is gone.
        sharedUSB.update(index) { $0.enterDFUMode() }
        #expect(try USBDiscovery.particleDevices(deviceID: deviceID).map(\.productID) == [boron.usb.dfuProductID])
        sharedUSB.update(index) { $0.powerOff() }
        #expect(try USBDiscovery.particleDevices(deviceID: deviceID).isEmpty)
    }
}
