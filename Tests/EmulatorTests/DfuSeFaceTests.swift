import DFU
@testable import Emulator
import Firmware
import Links
import Testing

@Suite("DfuSe face", .timeLimit(.minutes(10)))
struct DfuSeFaceTests {
    static func boardInDFU(_ name: String, clock: any Clock<Duration> = ContinuousClock()) async throws -> BoardEmulator {
        let board = BoardEmulator(try BoardModel.provisioned(platform: Platform(buildName: name)!), clock: clock)
        await board.update { $0.enterDFUMode() }
        return board
    }

    @Test("A plain DFU host flashes a user app; after leave the module table shows it and it runs",
          arguments: ["boron", "photon", "p2"])
    func flashUserApp(_ name: String) async throws {
        let platform = Platform(buildName: name)!
        let clock = ManualClock()
        let board = try await Self.boardInDFU(name, clock: clock)
        #expect(await board.usbProductID == platform.usb.dfuProductID)
        let image = try FirmwareSet.application(for: platform, size: 20_000, seed: 42)
        let start = try #require(ModuleFile(bytes: image).modules.first).startAddress
        let host = TestDfuHost(pipe: board)
        let pageSize = platform.mcu == .stm32f2xx ? 128 << 10 : 4096
        try await host.flash(image, at: start, pageSize: pageSize)
        let status = try await host.leave()
        // Gen 3 reports dfuMANIFEST; Gen 2 reports dfuDNLOAD_IDLE to keep dfu-util tidy (§2.6, §2.7).
        #expect(status.state == (platform.generation == .gen2 ? .downloadIdle : .manifest))
        // The bootloader's reset, 500 ms after the manifest status on the board's clock.
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(499))
        #expect(await board.mode == .dfu, "not before 500 ms")
        clock.advance(by: .milliseconds(1))
        try await board.waitUntil { $0.mode == .running }
        let model = await board.snapshot()
        #expect(model.mode == .running)
        #expect(model.runningApp?.size == image.count)
        #expect(model.modules.contains { $0.function == .user && $0.crcOK && $0.size == image.count })
        #expect(await board.usbProductID == platform.usb.normalProductID)
    }

    @Test("Writes to read-only sectors fail: Gen 3 reports errUNKNOWN in dfuERROR, Gen 2 only stalls")
    func readOnlySectors() async throws {
        // nRF52840: the last 8 pages (the bootloader tail) are read-only ('a').
        let boron = TestDfuHost(pipe: try await Self.boardInDFU("boron"))
        try await boron.downloadAndWait(block: 0, TestDfuHost.command(0x21, 0x000F_8000))
        try await boron.download(block: 2, [0x00, 0x01])
        #expect(try await boron.getStatus().state == .downloadBusy)
        let failed = try await boron.getStatus()
        #expect(failed == TestDfuHost.Status(status: .errUnknown, state: .error, pollTimeout: 0))
        try await boron.clearStatus()
        #expect(try await boron.getState() == .dfuIdle)

        // STM32F2: the first three 16 KB sectors are read-only.
        let photon = TestDfuHost(pipe: try await Self.boardInDFU("photon"))
        try await photon.downloadAndWait(block: 0, TestDfuHost.command(0x21, 0x0800_0000))
        try await photon.download(block: 2, [0x00])
        #expect(try await photon.getStatus().state == .downloadBusy)
        await #expect(throws: LinkError.stalled) { _ = try await photon.getStatus() }
        #expect(try await photon.getStatus() == TestDfuHost.Status(status: .ok, state: .downloadIdle, pollTimeout: 0))
    }

    @Test("DfuSe commands answer as §2.6 says")
    func commands() async throws {
        let host = TestDfuHost(pipe: try await Self.boardInDFU("boron"))
        #expect(try await host.upload(block: 0, length: 16) == [0x00, 0x21, 0x41, 0xFA, 0xFB])
        // Mass erase: errTARGET.
        #expect(try await host.downloadAndWait(block: 0, [0x41]).status == .errTarget)
        try await host.clearStatus()
        // Unknown command byte: errSTALLEDPKT; READ_UNPROTECT: errUNKNOWN.
        #expect(try await host.downloadAndWait(block: 0, [0x77]).status == .errStalledPacket)
        try await host.clearStatus()
        #expect(try await host.downloadAndWait(block: 0, [0x92]).status == .errUnknown)
        try await host.clearStatus()
        // SET_ADDRESS_POINTER with the wrong length: errUNKNOWN.
        #expect(try await host.downloadAndWait(block: 0, [0x21, 0x00]).status == .errUnknown)
        try await host.clearStatus()
        // Block 1 is unused: errTARGET.
        #expect(try await host.downloadAndWait(block: 1, [0x00]).status == .errTarget)
        try await host.clearStatus()
        // GETSTATE while busy is an undefined transition.
        try await host.download(block: 0, TestDfuHost.command(0x21, 0xB4000))
        #expect(try await host.getStatus().state == .downloadBusy)
        #expect(try await host.getState() == .downloadIdle)
        try await host.download(block: 0, TestDfuHost.command(0x21, 0xB4000))
        _ = try await host.getStatus()
        // CLRSTATUS outside dfuERROR stalls and sets errUNKNOWN.
        await #expect(throws: LinkError.stalled) { try await host.clearStatus() }
        #expect(try await host.getStatus().status == .errUnknown)
        // Upload reads back what the board holds: the bootloader's first bytes at 0xF4000.
        try await host.clearStatus()
        try await host.downloadAndWait(block: 0, TestDfuHost.command(0x21, 0x000F_4000))
        try await host.abort()
        let bytes = try await host.upload(block: 2, length: 8)
        #expect(bytes.count == 8)
        #expect(bytes != [UInt8](repeating: 0xFF, count: 8))
    }

    @Test("A second GETSTATUS after leave cancels the reset (§2.6)")
    func secondStatusCancelsLeave() async throws {
        let clock = ManualClock()
        let board = try await Self.boardInDFU("boron", clock: clock)
        let host = TestDfuHost(pipe: board)
        _ = try await host.leave()
        await clock.waitForSleepers()
        await #expect(throws: LinkError.stalled) { _ = try await host.getStatus() }
        #expect(await board.snapshot().dfu.resetScheduled == false, "the second GETSTATUS called the reset off")
        clock.advance(by: .seconds(1))
        // The reset timer has woken and found nothing to do: give its task the chance to run.
        for _ in 0..<100 { await Task.yield() }
        #expect(await board.mode == .dfu)
        #expect(clock.sleeperCount == 0)
    }

    @Test("Gen 2 DCT alt reports the swapped poll timeouts: erase 500 ms, write 1 ms (§2.7)")
    func gen2DCTPollTimeouts() async throws {
        let board = try await Self.boardInDFU("photon")
        try await board.selectAlternateSetting(1)
        let host = TestDfuHost(pipe: board)
        try await host.download(block: 0, TestDfuHost.command(0x41, 0))
        #expect(try await host.getStatus().pollTimeout == 500)
        _ = try await host.getStatus()
        try await host.download(block: 0, TestDfuHost.command(0x21, 0))
        #expect(try await host.getStatus().pollTimeout == 1)
    }

    @Test("Outside DFU mode the DFU requests do not answer; an unpowered board is off the bus")
    func notInDFU() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        await #expect(throws: LinkError.stalled) { _ = try await TestDfuHost(pipe: board).getStatus() }
        await board.update { $0.powerOff() }
        await #expect(throws: LinkError.disconnected) { _ = try await TestDfuHost(pipe: board).getStatus() }
        #expect(await board.usbProductID == nil)
    }
}
