@testable import Emulator
import Firmware
import Links
import Testing

@Suite("Update control (§8.3)", .timeLimit(.minutes(10)))
struct UpdateControlTests {
    static let boron = Platform(buildName: "boron")!

    @Test("disableUpdates refuses control-request and cloud updates; DFU still works")
    func disableBlocksOTAButNotDFU() async throws {
        var model = try BoardModel.provisioned(platform: Self.boron)
        model.disableUpdates()
        #expect(model.events.last == .updatesEnabledPublished(false))
        for source in [BoardModel.UpdateSource.usb, .cloud] {
            let error = #expect(throws: UpdateError.self) { _ = try model.startUpdate(size: 4096, source: source) }
            #expect(error?.systemError == "SYSTEM_ERROR_OTA_UPDATES_DISABLED")
        }
        // DFU is the bootloader's: not affected.
        let clock = ManualClock()
        let board = BoardEmulator(model, clock: clock)
        await board.update { $0.enterDFUMode() }
        let image = try FirmwareSet.application(for: Self.boron, size: 12_000, seed: 8)
        let host = TestDfuHost(pipe: board)
        try await host.flash(image, at: 0xB4000, pageSize: 4096)
        _ = try await host.leave()
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(500))
        try await board.waitUntil { $0.mode == .running }
        #expect(await board.snapshot().runningApp?.size == image.count)
    }

    @Test("A pending notice sets the flag and fires firmware_update_pending; enableUpdates lets the update through")
    func pendingThenEnable() throws {
        var board = try BoardModel.provisioned(platform: Self.boron)
        board.disableUpdates()
        board.receiveUpdatesPendingNotice("true")
        #expect(board.updateFlags.pending)
        #expect(board.events.contains(.firmwareUpdatePending))
        #expect(board.events.contains(.firmwareUpdateStatus(.pending)))
        board.receiveUpdatesPendingNotice("nope")
        #expect(!board.updateFlags.pending)
        board.receiveUpdatesPendingNotice("true")
        board.enableUpdates()
        #expect(board.events.last == .updatesEnabledPublished(true))
        let image = try FirmwareSet.application(for: Self.boron, size: 12_000, seed: 8)
        try update(&board, with: image, source: .usb)
        #expect(board.runningApp?.size == image.count)
        #expect(!board.updateFlags.pending)
    }

    @Test("A forced notice overrides disableUpdates, and the device echoes it")
    func forcedOverridesDisable() throws {
        var board = try BoardModel.provisioned(platform: Self.boron)
        board.disableUpdates()
        board.receiveUpdatesForcedNotice("true")
        #expect(board.events.last == .updatesForcedPublished(true))
        let image = try FirmwareSet.application(for: Self.boron, size: 12_000, seed: 8)
        try update(&board, with: image)
        #expect(board.runningApp?.size == image.count)
        // The flags reset at boot: enabled, not forced, not pending.
        #expect(board.updateFlags == BoardModel.UpdateFlags())
    }

    @Test("An update already running is not aborted by a later disableUpdates")
    func disableDoesNotAbortRunningUpdate() throws {
        var board = try BoardModel.provisioned(platform: Self.boron)
        let image = try FirmwareSet.application(for: Self.boron, size: 12_000, seed: 8)
        _ = try board.startUpdate(size: image.count, source: .usb)
        board.disableUpdates()
        for offset in stride(from: 0, to: image.count, by: 1024) {
            try board.receiveChunk(Array(image[offset..<min(offset + 1024, image.count)]))
        }
        try board.finishUpdate()
        #expect(board.runningApp?.size == image.count)
    }
}
