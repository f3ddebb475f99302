import Boards
import Firmware
import Links
import ScenarioAPI
import Testing

/// The bench's waits on an emulated board end at the board's own change, so a busy machine can
/// make them slower but never make them fail; their limits run on a clock of their own.
@Suite("Waiting on an emulated board", .timeLimit(.minutes(1)))
struct EmulatedBoardWaitTests {
    static let boron = Platform(buildName: "boron")!

    @Test("Waiting for the board to come up ends when it does, with the limit's clock never moved; a board left off is stopped only by the limit")
    func waitUntilUp() async throws {
        let clock = ManualClock()
        let board = try EmulatedBoard(name: "waits", platform: Self.boron, limitClock: clock)
        try await board.powerOff()
        let waiting = Task { try await board.waitUntilUp(timeout: .seconds(30)) }
        await clock.waitForSleepers()
        try await board.powerOn()
        #expect(try await waiting.value == .running)
        #expect(clock.now == ManualClock.Instant(offset: .zero))

        try await board.powerOff()
        let stuck = Task { try await board.waitUntilUp(timeout: .seconds(30)) }
        await clock.waitForSleepers()
        clock.advance(by: .seconds(30))
        await #expect { try await stuck.value } throws: { "\($0)".contains("after 30.0 seconds") }
    }

    @Test("Waiting for a console line ends at the line, counted from the case's start; a line from before the case does not count")
    func waitForConsoleLine() async throws {
        let clock = ManualClock()
        let board = try EmulatedBoard(name: "lines", platform: Self.boron, limitClock: clock)
        // A boot before the case prints the line the case will wait for.
        try await board.powerOff()
        try await board.powerOn()
        #expect(await board.lines().contains { $0.contains("bootloader: boot ") })
        try await board.powerOff()
        await board.beginCase()
        // The boots before this case printed their lines; this case waits for the next.
        let waiting = Task { try await board.waitForLine(containing: "bootloader: boot", after: 0, timeout: .seconds(5)) }
        await clock.waitForSleepers()
        try await board.powerOn()
        let line = try await waiting.value
        #expect(line.contains("bootloader: boot "), "\(line)")
        #expect(await board.lines().first == line)

        await board.beginCase()
        let never = Task { try await board.waitForLine(containing: "bootloader: boot", after: 0, timeout: .seconds(5)) }
        await clock.waitForSleepers()
        clock.advance(by: .seconds(5))
        await #expect { try await never.value } throws: { "\($0)".contains("not printed within 5.0 seconds") }
    }
}
