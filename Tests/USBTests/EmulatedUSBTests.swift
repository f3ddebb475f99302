import ControlRequests
import Emulator
import EmulatorServers
import Firmware
import Foundation
import Links
@testable import DFU
import TestSupport
import Testing
import USB

/// Emulated boards served as USB devices by umockdev, driven through the real libusb and
/// libudev — and by dfu-util, a host nobody here wrote. Runs under umockdev's preload.
@Suite("Emulated boards over libusb through umockdev", .serialized,
       .enabled(if: UmockdevTestbed.preloaded || ProcessInfo.processInfo.environment["CI"] == "true"), .timeLimit(.minutes(10)))
struct EmulatedUSBTests {
    static func dfuBoard(_ name: String, serial: Int) throws -> BoardModel {
        let platform = Platform(buildName: name)!
        var model = try BoardModel.provisioned(platform: platform, deviceID: BoardModel.defaultDeviceID(platform, serial: serial))
        model.enterDFUMode()
        return model
    }

    static func waitFor(_ timeout: Duration = .seconds(5), _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test("Our DfuSe host flashes an emulated Boron over libusb; after leave it re-enumerates and runs the app")
    func dfuOverLibusb() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let server = sharedUSB
        let boron = Platform(buildName: "boron")!
        let index = try server.serve(try Self.dfuBoard("boron", serial: 11))
        let deviceID = server.board(index).deviceID
        let found = try #require(try USBDiscovery.particleDevices(deviceID: deviceID).first)
        #expect(found.productID == boron.usb.dfuProductID)
        let connection = try USBDeviceConnection(found)
        #expect(try await connection.string(at: 3) == deviceID)
        // The Gen 3 bootloader numbers its memory strings from 6 (usbd_dfu.h@v5.8.0:45-91).
        #expect(try await connection.string(at: 6) == boron.dfuAltSettings[0].memoryLayout)
        try await connection.claimInterface(0)
        try await connection.setAlternateSetting(interface: 0, alternate: 0)

        let image = try FirmwareSet.application(for: boron, size: 40_000, seed: 77)
        let layout = try #require(DfuSeMemoryLayout(boron.dfuAltSettings[0].memoryLayout))
        // In a session, on the connection's own thread, transfers call libusb in line.
        let readBack = try await connection.session {
            let host = DfuSeHost(pipe: connection)
            try await host.write(image, at: 0xB4000, layout: layout)
            let back = try await host.read(0xB4000, count: image.count)
            try await host.leave()
            return back
        }
        #expect(readBack == image)
        #expect(try await Self.waitFor { try USBDiscovery.particleDevices(deviceID: deviceID).first?.productID == boron.usb.normalProductID })
        let model = server.board(index)
        #expect(model.mode == .running)
        #expect(model.runningApp?.size == image.count)
    }

    @Test("dfu-util flashes the same image through the same path; the flash then holds exactly the image, as after our host")
    func dfuUtilAgrees() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let boron = Platform(buildName: "boron")!
        let image = try FirmwareSet.application(for: boron, size: 40_000, seed: 78)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-dfu-\(UUID().uuidString).bin")
        try Data(image).write(to: file)

        let theirs = sharedUSB
        let index = try theirs.serve(try Self.dfuBoard("boron", serial: 12))
        let result = try await ToolProcess.run("/usr/bin/dfu-util", ["-d", "2b04:d00d", "-S", theirs.board(index).deviceID, "-a", "0", "-s", "0x000b4000",
                                                        "-D", file.path])
        #expect(result.status == 0, "dfu-util: \(result.output)")
        let flashedByDfuUtil = theirs.board(index).storage.read(.internal, 0xB4000, count: image.count)
        #expect(flashedByDfuUtil == image)
        let ours = sharedUSB
        let oursIndex = try ours.serve(try Self.dfuBoard("boron", serial: 13))
        let device = try #require(try USBDiscovery.particleDevices(deviceID: ours.board(oursIndex).deviceID).first)
        let connection = try USBDeviceConnection(device)
        try await connection.claimInterface(0)
        try await DfuSeHost(pipe: connection).write(image, at: 0xB4000,
                                                    layout: try #require(DfuSeMemoryLayout(boron.dfuAltSettings[0].memoryLayout)))
        #expect(ours.board(oursIndex).storage.read(.internal, 0xB4000, count: image.count) == flashedByDfuUtil)
    }

    @Test("Control requests over libusb: device id, system version, and an OTA")
    func controlRequestsOverLibusb() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let server = sharedUSB
        let p2 = Platform(buildName: "p2")!
        let index = try server.serve(try BoardModel.provisioned(platform: p2, deviceID: BoardModel.defaultDeviceID(p2, serial: 14)))
        let model = server.board(index)
        let device = try #require(try USBDiscovery.particleDevices(deviceID: model.deviceID).first)
        #expect(device.productID == p2.usb.normalProductID)
        let client = ControlRequestClient(pipe: try USBDeviceConnection(device))
        #expect(try await client.deviceID() == model.deviceID)
        #expect(try await client.systemVersion() == model.deviceOS.description)
        let image = try FirmwareSet.application(for: p2, size: 30_000, seed: 9)
        try await client.updateFirmware(image)
        #expect(server.board(index).runningApp?.size == image.count)
        // A request the device stalls surfaces as a stall.
        await #expect(throws: LinkError.stalled) {
            _ = try await USBDeviceConnection(device).controlIn(ControlSetup(requestType: 0xC0, request: 0x77, value: 0, index: 0, length: 8),
                                                                timeout: .seconds(1))
        }
    }
}

extension EmulatedUSBTests {
    @Test("Each DfuSe refusal comes back over libusb as the device's status", arguments: [
        ([UInt8]([0x41]), DFUStatus.errTarget),        // mass erase
        ([UInt8]([0x92]), DFUStatus.errUnknown),       // READ_UNPROTECT
        ([UInt8]([0x77]), DFUStatus.errStalledPacket), // unknown command
        ([UInt8]([0x21, 0x00]), DFUStatus.errUnknown), // SET_ADDRESS with the wrong length
    ])
    func dfuRefusals(_ command: [UInt8], _ status: DFUStatus) async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let index = try sharedUSB.serve(try Self.dfuBoard("boron", serial: 40 + Int(command[0] & 0x0F) + command.count))
        let device = try #require(try USBDiscovery.particleDevices(deviceID: sharedUSB.board(index).deviceID).first)
        let connection = try USBDeviceConnection(device)
        try await connection.claimInterface(0)
        let host = DfuSeHost(pipe: connection)
        let error = await #expect(throws: DfuSeError.self) { try await host.download(block: 0, command, operation: "command") }
        #expect(error == .deviceError(operation: "command", status: status, state: .error))
        try await host.makeIdle()
    }

    @Test("A board that vanishes mid-download ends the write with a clear error, not a hang")
    func vanishesMidDownload() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let boron = Platform(buildName: "boron")!
        let index = try sharedUSB.serve(try Self.dfuBoard("boron", serial: 21))
        let device = try #require(try USBDiscovery.particleDevices(deviceID: sharedUSB.board(index).deviceID).first)
        let connection = try USBDeviceConnection(device)
        try await connection.claimInterface(0)
        let image = [UInt8](repeating: 0x5A, count: 200 << 10)
        let layout = try #require(DfuSeMemoryLayout(boron.dfuAltSettings[0].memoryLayout))
        let started = ContinuousClock.now
        let writer = Task { try await DfuSeHost(pipe: connection).write(image, at: 0x30000, layout: layout) }
        try await Task.sleep(for: .milliseconds(100))
        sharedUSB.update(index) { $0.powerOff() }
        let outcome = await writer.result
        guard case .failure(let error) = outcome else { Issue.record("the write finished although the board went away"); return }
        #expect(error as? LinkError == .disconnected, "\(error)")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("dfuERROR comes back over libusb with the device's status; the host recovers to dfuIDLE")
    func deviceErrorStatus() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let index = try sharedUSB.serve(try Self.dfuBoard("boron", serial: 22))
        let device = try #require(try USBDiscovery.particleDevices(deviceID: sharedUSB.board(index).deviceID).first)
        let connection = try USBDeviceConnection(device)
        try await connection.claimInterface(0)
        let host = DfuSeHost(pipe: connection)
        // Mass erase is refused with errTARGET (§2.6).
        let error = await #expect(throws: DfuSeError.self) { try await host.download(block: 0, [0x41], operation: "mass erase") }
        #expect(error == .deviceError(operation: "mass erase", status: .errTarget, state: .error))
        try await host.makeIdle()
        #expect(try await host.getStatus().state == .dfuIdle)
    }
}

extension EmulatedUSBTests {
    @Test("A board that stops answering times out: a clear error within the timeout, and the next transfer still works")
    func unresponsiveBoardTimesOut() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let index = try sharedUSB.serve(try Self.dfuBoard("boron", serial: 23))
        let device = try #require(try USBDiscovery.particleDevices(deviceID: sharedUSB.board(index).deviceID).first)
        let connection = try USBDeviceConnection(device)
        sharedUSB.setUnresponsive(index, true)
        let started = ContinuousClock.now
        await #expect(throws: LinkError.timedOut) {
            _ = try await connection.controlIn(ControlSetup(requestType: 0xA1, request: 3, value: 0, index: 0, length: 6), timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(3))
        sharedUSB.setUnresponsive(index, false)
        let status = try await connection.controlIn(ControlSetup(requestType: 0xA1, request: 3, value: 0, index: 0, length: 6), timeout: .seconds(1))
        #expect(status.count == 6)
    }
}

extension EmulatedUSBTests {
    @Test("Bulk transfers on the CDC data endpoints carry the console: listening-mode i over libusb; the idle interrupt endpoint times out")
    func bulkConsole() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let index = try sharedUSB.serve(try BoardModel.provisioned(platform: Platform(buildName: "argon")!,
                                                                   deviceID: BoardModel.defaultDeviceID(Platform(buildName: "argon")!, serial: 24)))
        sharedUSB.update(index) { model in
            model.enterListeningMode()
            _ = model.takeSerialOutput(maximum: 1 << 20)
        }
        let device = try #require(try USBDiscovery.particleDevices(deviceID: sharedUSB.board(index).deviceID).first)
        let connection = try USBDeviceConnection(device)
        try await connection.claimInterface(1)
        #expect(try await connection.bulk(endpoint: 0x01, data: Array("i".utf8), timeout: .seconds(1)).isEmpty)
        let reply = try await connection.bulk(endpoint: 0x81, length: 512, timeout: .seconds(1))
        let argon = sharedUSB.board(index)
        #expect(String(decoding: reply, as: UTF8.self)
            == "Device ID: \(argon.deviceID)\r\nDevice Secret: \(argon.deviceSecret!)\r\nSerial Number: \(argon.serialNumber!)\r\n")
        // Nothing more to read: the read times out rather than hanging.
        await #expect(throws: LinkError.timedOut) { _ = try await connection.bulk(endpoint: 0x81, length: 64, timeout: .milliseconds(200)) }
        await #expect(throws: LinkError.timedOut) { _ = try await connection.interrupt(endpoint: 0x82, length: 8, timeout: .milliseconds(200)) }
    }
}
