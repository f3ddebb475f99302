import Emulator
import Firmware
import Links
import Testing

@Suite("Emulated power switch", .timeLimit(.minutes(10)))
struct EmulatedPowerSwitchTests {
    @Test("Off cuts the board, on boots it once; switching to the state it is in does nothing; a cycle reboots")
    func switches() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        let power = EmulatedPowerSwitch(board: board)
        let boots = await board.snapshot().bootCount
        #expect(try await power.state() == .on)
        try await power.setPower(false)
        #expect(await board.mode == .off)
        #expect(try await power.state() == .off)
        try await power.setPower(false)
        try await power.setPower(true)
        #expect(await board.mode == .running)
        try await power.setPower(true)
        #expect(await board.snapshot().bootCount == boots + 1)
        try await power.cycle(offFor: .milliseconds(1), clock: ContinuousClock())
        #expect(await board.snapshot().bootCount == boots + 2)
        #expect(await board.snapshot().lastResetReason == .powerDown)
    }
}
