@testable import Boards
import Emulator
import EmulatorServers
import Firmware
import Foundation
import ScenarioAPI
import Testing

extension EmulatedUSBTests {
    @Test("A Photon on USB flashed by YMODEM on its tty, as `otabench flash --serial <device id>` does it: listening mode by control request, the image over the CDC data endpoints, the board leaving USB to apply it and back running it; a corrupt one refused with 1.5.2's validation flags")
    func serialFlashOverUSB() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let photon = Platform(buildName: "photon")!
        let index = try sharedUSB.serve(try BoardModel.provisioned(platform: photon, deviceID: BoardModel.defaultDeviceID(photon, serial: 41)))
        let deviceID = sharedUSB.board(index).deviceID
        let tty = try CDCTerminal(deviceID: deviceID)
        let target = SerialTarget(name: deviceID, deviceID: deviceID) { tty.path }

        let flashing = try await SerialFlashing(target)
        #expect(flashing.platform == photon)
        #expect(flashing.deviceOSVersion == "1.5.2")
        let next = try FirmwareSet.application(for: photon, size: 30_000, seed: 81)
        #expect(flashing.problems(for: try #require(try ModuleFile(bytes: next).modules.first)).isEmpty)
        let node = sharedUSB.location(index).node
        #expect(try await flashing.send(next, name: "next") == .restarting)
        // The reset came from the serial side; the board still leaves USB and comes back.
        let started = ContinuousClock.now
        while sharedUSB.location(index).node == node, ContinuousClock.now - started < .seconds(30) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(sharedUSB.location(index).node != node, "the board never left USB")
        let board = USBBoard(name: "usb-photon", platform: photon, deviceID: deviceID)
        #expect(try await board.waitUntilUp(timeout: .seconds(30)) == .running)
        #expect(sharedUSB.board(index).runningApp?.storedSHA256.hexString == FirmwareImage(bytes: next, label: "next").fingerprint)

        var corrupt = try FirmwareSet.application(for: photon, size: 20_000, seed: 82)
        corrupt[corrupt.count / 2] ^= 0x40
        let again = try await SerialFlashing(target)
        #expect(try await again.send(corrupt, name: "corrupt") == .refused("Validation failed: 0x2"))
        #expect(BoardError.Cause(serialRefusal: "Validation failed: 0x2") == .refused(.otaIntegrityCheckFailed))
        #expect(try await board.waitUntilUp(timeout: .seconds(30)) == .running)
        #expect(sharedUSB.board(index).runningApp?.storedSHA256.hexString == FirmwareImage(bytes: next, label: "next").fingerprint)
        await tty.stop()
    }
}

extension EmulatedUSBTests {
    @Test("A Gen 2 board answers the module-info request with the list Device OS sent before 5.6.0: a Photon on USB shows its modules, their versions, sizes, dependencies and checks, and no hash (it reports none)")
    func deprecatedModuleList() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let photon = Platform(buildName: "photon")!
        let index = try sharedUSB.serve(try BoardModel.provisioned(platform: photon, deviceID: BoardModel.defaultDeviceID(photon, serial: 42)))
        let model = sharedUSB.board(index)
        let board = USBBoard(name: "usb-photon", platform: photon, deviceID: model.deviceID)
        let entries = try await board.moduleTableEntries()
        #expect(entries.map(\.function) == model.modules.map(\.function))
        #expect(entries.map(\.index) == model.modules.map(\.index))
        #expect(entries.map(\.version) == model.modules.map(\.version))
        #expect(entries.map(\.size) == model.modules.map(\.size))
        #expect(entries.map(\.dependencies) == model.modules.map(\.prefix.dependencies))
        #expect(entries.allSatisfy { $0.valid && $0.fingerprint.isEmpty && $0.maxSize == 0 })
        #expect(entries.first?.checks.map { "\($0.name) \($0.checked) \($0.passed)" }
            == ["Integrity true true", "Address Range false false", "Platform false false", "Dependencies true true"])
        #expect(entries.contains { $0.function == .user })
        #expect(await board.mode() == .running)
    }
}
