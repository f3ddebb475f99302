@testable import Boards
import Foundation
import Links
import Power
import ScenarioAPI
import Serial
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// The triggers of a power cut, against a transfer that fails once its board loses power and a
/// switch that keeps what it was told. The real-board path (USBBoard, libusb, a hub port) runs
/// the same code in USBTests; the console trigger is proven here over a real pseudo-terminal,
/// which the umockdev preload of those tests does not let a process configure.
@Suite("Triggered power cuts", .timeLimit(.minutes(1)))
struct TriggeredPowerCutTests {
    /// A switch that records each change and when, on the test's clock; switching off may take
    /// a while, as a relay does. A transfer waits on it for the power to go.
    final class RecordingSwitch: PowerSwitch {
        let changes = NIOLockedValueBox<[(on: Bool, at: Duration)]>([])
        let waiters = StateWaiters<Bool>()
        let clock: ManualClock
        let offDelay: Duration
        let fails: Bool

        init(clock: ManualClock = ManualClock(), offDelay: Duration = .zero, fails: Bool = false) {
            self.clock = clock
            self.offDelay = offDelay
            self.fails = fails
        }

        var powered: Bool { changes.withLockedValue { $0.last?.on ?? true } }
        var switched: [Bool] { changes.withLockedValue { $0.map(\.on) } }

        func setPower(_ on: Bool) async throws {
            if !on, fails { throw PowerSwitchError(board: "test", command: ["relay"], reason: "exited with status 3") }
            if !on { try await clock.sleep(for: offDelay) }
            let at = ManualClock.Instant(offset: .zero).duration(to: clock.now)
            changes.withLockedValue { $0.append((on, at)) }
            waiters.wake(on)
        }

        func state() async throws -> PowerState { powered ? .on : .off }

        func waitUntilOff() async throws { try await waiters.wait(until: { !$0 }, now: { powered }) }
    }

    static let chunk = 1024
    static let size = 100 * chunk

    /// Sends the image a chunk at a time until the board loses power. After `pausing` chunks it
    /// runs `pause`, which is where a test fires its trigger; then it sends no more until the
    /// power goes, so the cut lands exactly there however slow the machine.
    static func transfer(into power: RecordingSwitch, pausingAfter pausing: Int? = nil,
                         _ pause: @escaping @Sendable () async throws -> Void = {})
        -> @Sendable (@escaping TriggeredPowerCut.Progress) async throws -> Void {
        { progress in
            var sent = 0
            while sent < size {
                guard power.powered else { throw LinkError.disconnected }
                sent += chunk
                await progress(sent, size)
                if sent == pausing.map({ $0 * chunk }) {
                    try await pause()
                    try await power.waitUntilOff()
                }
                await Task.yield()
            }
        }
    }

    static func cut(_ cut: PowerCut, _ power: RecordingSwitch, offTime: Duration = .milliseconds(100),
                    console: ConsoleCapture? = nil, waitUntilGone: @escaping @Sendable () async throws -> Void = {}) -> TriggeredPowerCut {
        TriggeredPowerCut(
            board: "test", cut: cut, powerSwitch: power, offTime: offTime, applyWindow: .milliseconds(100), clock: power.clock,
            waitForConsoleLine: { text, after in
                guard let console else { throw BoardError(board: "test", operation: "console", .bench("none")) }
                _ = try await console.waitForLine(containing: text, after: after, timeout: .seconds(10))
            },
            waitUntilGone: waitUntilGone)
    }

    /// Runs `body` as the test's hand on the clock while the cut runs, and returns the cut's record.
    static func running(_ triggered: TriggeredPowerCut, transfer: @escaping @Sendable (@escaping TriggeredPowerCut.Progress) async throws -> Void,
                        clock body: @Sendable () async throws -> Void) async throws -> PowerCutRecord {
        let cut = Task { try await triggered.run(imageSize: size, consoleLinesBefore: 0, transfer: transfer) }
        do { try await body() } catch { cut.cancel(); throw error }
        return try await cut.value
    }

    @Test("A fraction cuts at the chunk boundary while the transfer waits, however slow the switch; then off-time, then on")
    func fractionWithSlowSwitch() async throws {
        let power = RecordingSwitch(offDelay: .milliseconds(150))
        let record = try await Self.running(Self.cut(PowerCut(.download, at: 0.3), power), transfer: Self.transfer(into: power)) {
            await power.clock.waitForSleepers()          // the relay, thrown at the trigger
            power.clock.advance(by: .milliseconds(149))
            #expect(power.switched.isEmpty, "the relay has not opened yet")
            power.clock.advance(by: .milliseconds(1))
            await power.clock.waitForSleepers()          // the off-time
            power.clock.advance(by: .milliseconds(99))
            #expect(power.switched == [false], "still off a millisecond before the off-time ends")
            power.clock.advance(by: .milliseconds(1))
        }
        let target = Int(Double(Self.size) * 0.3)
        #expect(record.sentAtTrigger == record.sentAtCut, "nothing left while the switch was thrown")
        #expect(try #require(record.sentAtCut) >= target && record.sentAtCut! < target + Self.chunk)
        #expect(record.latency == .milliseconds(150), "the switch's own time is measured")
        let changes = power.changes.withLockedValue { $0 }
        #expect(changes.map(\.on) == [false, true])
        #expect(changes.map(\.at) == [.milliseconds(150), .milliseconds(250)], "off for exactly the off-time")
    }

    @Test("A console line fires the cut mid-transfer, where the line was printed")
    func consoleLine() async throws {
        let folder = try temporaryFolder("triggered-cut-console")
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        let console = try ConsoleCapture(logFile: folder.appendingPathComponent("console.log"), locate: { terminal.slavePath })
        await console.start()
        try await console.waitUntilAttached(to: terminal.slavePath)
        let power = RecordingSwitch()
        let transfer = Self.transfer(into: power, pausingAfter: 40) {
            try await terminal.master.write(Array("0000001234 [system.ota] INFO: staging area erased\r\n".utf8))
        }
        let record = try await Self.running(Self.cut(PowerCut(.download, trigger: .consoleLine("staging area erased")), power,
                                                     offTime: .zero, console: console), transfer: transfer) {}
        #expect(record.sentAtCut == 40 * Self.chunk)
        #expect(power.switched == [false, true])
        await console.stop()
    }

    @Test("A delay after the transfer starts cuts on the clock; after the transfer ends, once it has ended")
    func delays() async throws {
        let early = RecordingSwitch()
        let started = try await Self.running(
            Self.cut(PowerCut(.download, trigger: .delay(.milliseconds(60), after: .transferStarted)), early, offTime: .zero),
            transfer: Self.transfer(into: early, pausingAfter: 20) {
                await early.clock.waitForSleepers()
                early.clock.advance(by: .milliseconds(59))
                #expect(early.switched.isEmpty, "not before the delay")
                early.clock.advance(by: .milliseconds(1))
            }) {}
        #expect(started.sentAtCut == 20 * Self.chunk)

        let late = RecordingSwitch()
        let ended = try await Self.running(
            Self.cut(PowerCut(.apply, trigger: .delay(.milliseconds(10), after: .transferFinished)), late, offTime: .zero),
            transfer: Self.transfer(into: late)) {
                await late.clock.waitForSleepers()
                late.clock.advance(by: .milliseconds(9))
                #expect(late.switched.isEmpty, "not before the delay")
                late.clock.advance(by: .milliseconds(1))
            }
        #expect(ended.sentAtCut == Self.size)
        #expect(late.switched == [false, true])
    }

    @Test("An apply-phase fraction cuts that far into the apply window, counted from the board leaving")
    func applyWindow() async throws {
        let power = RecordingSwitch()
        let left = NIOLockedValueBox(false)
        let record = try await Self.running(
            Self.cut(PowerCut(.apply, at: 0.5), power, offTime: .zero, waitUntilGone: { left.withLockedValue { $0 = true } }),
            transfer: Self.transfer(into: power)) {
                await power.clock.waitForSleepers()
                #expect(left.withLockedValue { $0 }, "the window starts once the board has gone")
                power.clock.advance(by: .milliseconds(49))
                #expect(power.switched.isEmpty, "not before half the window")
                power.clock.advance(by: .milliseconds(1))
            }
        #expect(record.sentAtCut == Self.size)
        #expect(power.changes.withLockedValue { $0.map(\.at) } == [.milliseconds(50), .milliseconds(50)])
    }

    @Test("A switch that fails, a trigger that never fires, and a board that outlives its cut are errors with the reason")
    func failures() async throws {
        let broken = RecordingSwitch(fails: true)
        let failed = await #expect(throws: BoardError.self) {
            _ = try await Self.cut(PowerCut(.download, at: 0.5), broken).run(imageSize: Self.size, consoleLinesBefore: 0,
                                                                            transfer: Self.transfer(into: broken))
        }
        #expect(failed?.cause.description.contains("the switch failed to cut") == true && failed?.cause.description.contains("status 3") == true)

        let idle = RecordingSwitch()
        let never = await #expect(throws: BoardError.self) {
            _ = try await Self.cut(PowerCut(.download, trigger: .byteOffset(10 * Self.size)), idle)
                .run(imageSize: Self.size, consoleLinesBefore: 0, transfer: Self.transfer(into: idle))
        }
        #expect(never?.cause.description.contains("never fired") == true)
        #expect(idle.changes.withLockedValue { $0.isEmpty })

        // A board that kept going: the transfer ignores the power and completes.
        let liar = RecordingSwitch()
        let outlived = await #expect(throws: BoardError.self) {
            _ = try await Self.cut(PowerCut(.download, at: 0.5), liar).run(imageSize: Self.size, consoleLinesBefore: 0) { progress in
                for sent in stride(from: Self.chunk, through: Self.size, by: Self.chunk) { await progress(sent, Self.size) }
            }
        }
        #expect(outlived?.cause.description.contains("the switch does not cut it") == true)
        #expect(liar.powered, "switched back on after the failed cut")
    }
}
