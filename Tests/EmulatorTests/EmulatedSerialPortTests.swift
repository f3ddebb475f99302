@testable import Emulator
import Firmware
import Links
import Testing

@Suite("The in-process serial port: reads woken by the board's output, timed on the host's clock", .timeLimit(.minutes(1)))
struct EmulatedSerialPortTests {
    @Test("A read waits for output however slow the machine, times out only when its clock passes, and sees the port go")
    func reads() async throws {
        let clock = ManualClock()
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        await board.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board, clock: clock)
        while !(try await port.read(maximum: 4096, timeout: .zero)).isEmpty {}

        let silent = Task { try await port.read(maximum: 64, timeout: .seconds(1)) }
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(999))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .milliseconds(1))
        #expect(try await silent.value == [])

        let answer = Task { try await port.read(maximum: 4096, timeout: .seconds(1)) }
        await clock.waitForSleepers()
        await board.update { $0.serialInput(Array("v".utf8)) }
        #expect(String(decoding: try await answer.value, as: UTF8.self).contains("system firmware version"))

        while !(try await port.read(maximum: 4096, timeout: .zero)).isEmpty {}
        let gone = Task { try await port.read(maximum: 4096, timeout: .seconds(1)) }
        await clock.waitForSleepers()
        await board.update { $0.powerOff() }
        await #expect(throws: LinkError.disconnected) { try await gone.value }
    }
}
