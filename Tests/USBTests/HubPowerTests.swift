import Bench
import Boards
import Emulator
import EmulatorServers
import Firmware
import Foundation
import Links
import Power
import TestSupport
import Testing
import USB

/// The emulated hubs these tests share: the testbed is one per process, and a bus takes four.
enum EmulatedHubs {
    static let usb3 = Result { try sharedUSB.addUSB3Hub(ports: 10) }
    static let ganged = Result { try sharedUSB.addHub(EmulatedHub(portCount: 4, powerSwitching: .ganged)) }
    static let unswitched = Result { try sharedUSB.addHub(EmulatedHub(portCount: 2, powerSwitching: .none)) }
    static let ignoringOff = Result { try sharedUSB.addHub(EmulatedHub(portCount: 2, ignoresPowerOff: true)) }

    static func board(_ name: String, serial: Int, on hub: Int, port: Int) throws -> (index: Int, deviceID: String) {
        let platform = Platform(buildName: name)!
        let model = try BoardModel.provisioned(platform: platform, deviceID: BoardModel.defaultDeviceID(platform, serial: serial))
        let index = try sharedUSB.serve(model, hub: hub, port: port)
        return (index, sharedUSB.board(index).deviceID)
    }

    static func onUSB(_ deviceID: String) -> Bool { (try? USBDiscovery.particleDevices(deviceID: deviceID).isEmpty == false) ?? false }
}

extension EmulatedUSBTests {
    @Test("Our hub switch cuts a board on a USB 3 hub: both halves switched, the board leaves USB and comes back")
    func hubSwitchCutsAndRestores() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let hub = try EmulatedHubs.usb3.get()
        let (index, deviceID) = try EmulatedHubs.board("boron", serial: 61, on: hub, port: 1)
        let hubs = try await USBHub.all()
        let high = try #require(hubs.first { $0.location == sharedUSB.hubLocation(hub) })
        #expect(high.descriptor == HubDescriptor(portCount: 10, powerSwitching: .perPort, superSpeed: false))
        let twin = try #require(high.twin(among: hubs), "the SuperSpeed half is found by its Container ID")
        #expect(twin.superSpeed && twin.location == "2-\(high.location.split(separator: "-")[1])")
        let found = try #require(try USBDiscovery.particleDevices(deviceID: deviceID).first)
        #expect(found.location == "\(high.location).1")

        let power = HubPortPowerSwitch(HubPort(location: high.location, port: 1))
        #expect(try await power.state() == .on)
        try await power.setPower(false)
        #expect(sharedUSB.hub(hub).portPower[0] == false)
        #expect(sharedUSB.hub(hub + 1).portPower[0] == false, "the USB 3 twin is switched too")
        #expect(try await Self.waitFor { !EmulatedHubs.onUSB(deviceID) })
        #expect(sharedUSB.board(index).mode == .off)
        #expect(try await power.state() == .off)
        try await power.setPower(true)
        #expect(try await Self.waitFor { EmulatedHubs.onUSB(deviceID) })
        #expect(sharedUSB.board(index).mode == .running)
        #expect(try await power.state() == .on)
    }

    @Test("Switching only the USB 2 half of a USB 3 hub leaves the port powered, as on real hubs")
    func usb3TwinTrap() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let hub = try EmulatedHubs.usb3.get()
        let (index, deviceID) = try EmulatedHubs.board("argon", serial: 62, on: hub, port: 2)
        let high = try #require(try await USBHub.all().first { $0.location == sharedUSB.hubLocation(hub) })
        let connection = try USBDeviceConnection(high.device)
        try await connection.setPortPower(2, on: false)
        #expect(try await connection.portStatus(2, superSpeed: false).isPowered == false)
        try await Task.sleep(for: .milliseconds(300))
        #expect(EmulatedHubs.onUSB(deviceID), "the SuperSpeed half still supplies VBUS")
        #expect(sharedUSB.board(index).mode == .running)
        try await connection.setPortPower(2, on: true)
    }

    @Test("uhubctl (Debian's) drives the same emulated hub: off and on, and it sees what our switch sees")
    func uhubctlDrivesTheHub() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let hub = try EmulatedHubs.usb3.get()
        let (index, deviceID) = try EmulatedHubs.board("photon", serial: 63, on: hub, port: 3)
        let location = sharedUSB.hubLocation(hub)
        let ours = HubPortPowerSwitch(HubPort(location: location, port: 3))

        let listing = try await ToolProcess.run("/usr/sbin/uhubctl", ["-l", location])
        #expect(listing.status == 0, "uhubctl: \(listing.output)")
        #expect(listing.output.contains("ppps"), "uhubctl reads per-port switching from the descriptor: \(listing.output)")
        #expect(listing.output.contains(deviceID), "uhubctl finds the board on its port: \(listing.output)")

        let off = try await ToolProcess.run("/usr/sbin/uhubctl", ["-l", location, "-p", "3", "-a", "off"])
        #expect(off.status == 0, "uhubctl: \(off.output)")
        #expect(off.output.contains("2-"), "uhubctl switches the SuperSpeed twin too: \(off.output)")
        #expect(try await Self.waitFor { !EmulatedHubs.onUSB(deviceID) })
        #expect(sharedUSB.board(index).mode == .off)
        #expect(try await ours.state() == .off)

        let on = try await ToolProcess.run("/usr/sbin/uhubctl", ["-l", location, "-p", "3", "-a", "on"])
        #expect(on.status == 0, "uhubctl: \(on.output)")
        #expect(try await Self.waitFor { EmulatedHubs.onUSB(deviceID) })
        #expect(try await ours.state() == .on)

        // And the other way round: uhubctl reads back what our switch did.
        try await ours.setPower(false)
        let status = try await ToolProcess.run("/usr/sbin/uhubctl", ["-l", location, "-p", "3"])
        #expect(status.output.contains("Port 3: 0000 off"), "uhubctl: \(status.output)")
        try await ours.setPower(true)
    }

    @Test("Ganged and unswitched hubs, a missing hub and a missing port are refused with the reason, cutting nothing")
    func hubRefusals() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let ganged = try EmulatedHubs.ganged.get()
        let (_, neighbour) = try EmulatedHubs.board("boron", serial: 64, on: ganged, port: 2)
        let gangedSwitch = HubPortPowerSwitch(HubPort(location: sharedUSB.hubLocation(ganged), port: 1))
        let gangedError = await #expect(throws: HubPowerError.self) { try await gangedSwitch.setPower(false) }
        #expect(gangedError?.reason.contains("ganged") == true, "\(String(describing: gangedError))")
        #expect(EmulatedHubs.onUSB(neighbour), "the board on the gang's other port keeps its power")
        #expect(sharedUSB.hub(ganged).portPower == [true, true, true, true])

        let unswitched = try EmulatedHubs.unswitched.get()
        let noSwitching = await #expect(throws: HubPowerError.self) {
            try await HubPortPowerSwitch(HubPort(location: sharedUSB.hubLocation(unswitched), port: 1)).setPower(false)
        }
        #expect(noSwitching?.reason.contains("cannot switch port power") == true, "\(String(describing: noSwitching))")

        let missing = await #expect(throws: HubPowerError.self) { try await HubPortPowerSwitch(HubPort(location: "1-9.9", port: 1)).setPower(false) }
        #expect(missing?.description.contains("no hub there") == true && missing?.description.contains(sharedUSB.hubLocation(ganged)) == true,
                "\(String(describing: missing))")
        let badPort = await #expect(throws: HubPowerError.self) {
            try await HubPortPowerSwitch(HubPort(location: sharedUSB.hubLocation(try EmulatedHubs.usb3.get()), port: 11)).setPower(false)
        }
        #expect(badPort?.reason.contains("ports 1…10 only") == true, "\(String(describing: badPort))")
    }

    @Test("A hub that reports a port off but keeps its power on is caught by the verified cut; a good one passes it")
    func verifiedCutCatchesFakeHub() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        var limits = PowerCutVerification.Limits()
        limits.leave = .seconds(1)
        limits.silence = .milliseconds(500)
        limits.comeBack = .seconds(15)

        let fake = try EmulatedHubs.ignoringOff.get()
        let (_, fakeID) = try EmulatedHubs.board("boron", serial: 65, on: fake, port: 1)
        let liar = USBBoard(name: "boron-on-fake-hub", platform: Platform(buildName: "boron")!, deviceID: fakeID,
                            powerSwitch: HubPortPowerSwitch(HubPort(location: sharedUSB.hubLocation(fake), port: 1)))
        let reason = await PowerCutVerification.check(liar, limits: limits)
        #expect(reason?.contains("does not cut its power") == true, "\(reason ?? "verified")")
        #expect(sharedUSB.hub(fake).portPower[0] == true, "the check switched the port back on")

        let good = try EmulatedHubs.usb3.get()
        let (_, goodID) = try EmulatedHubs.board("boron", serial: 66, on: good, port: 4)
        let honest = USBBoard(name: "boron-on-good-hub", platform: Platform(buildName: "boron")!, deviceID: goodID,
                              powerSwitch: HubPortPowerSwitch(HubPort(location: sharedUSB.hubLocation(good), port: 4)))
        #expect(honest.capabilities.contains(.powerControl))
        let verdict = await PowerCutVerification.check(honest, limits: limits)
        #expect(verdict == nil, "\(verdict ?? "")")
    }
}
