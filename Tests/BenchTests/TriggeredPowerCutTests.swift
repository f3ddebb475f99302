@testable import Bench
import Foundation
import Links
import Power
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
    /// A switch that records each change and when it happened; switching off may take a while,
    /// as a relay does.
    final class RecordingSwitch: PowerSwitch {
        let changes = NIOLockedValueBox<[(on: Bool, at: ContinuousClock.Instant)]>([])
        let offDelay: Duration
        let fails: Bool

        init(offDelay: Duration = .zero, fails: Bool = false) {
            self.offDelay = offDelay
            self.fails = fails
        }

        var powered: Bool { changes.withLockedValue { $0.last?.on ?? true } }

        func setPower(_ on: Bool) async throws {
            if !on, fails { throw PowerSwitchError(board: "test", command: ["relay"], reason: "exited with status 3") }
            if !on { try await Task.sleep(for: offDelay) }
            changes.withLockedValue { $0.append((on, ContinuousClock.now)) }
        }

        func state() async throws -> PowerState { powered ? .on : .off }
    }

    static let chunk = 1024
    static let size = 100 * chunk

    /// Sends the image a chunk at a time until the board loses power.
    static func transfer(into power: RecordingSwitch, pace: Duration = .milliseconds(1))
        -> @Sendable (@escaping TriggeredPowerCut.Progress) async throws -> Void {
        { progress in
            var sent = 0
            while sent < size {
                guard power.powered else { throw LinkError.disconnected }
                sent += chunk
                await progress(sent, size)
                try await Task.sleep(for: pace)
            }
        }
    }

    static func cut(_ cut: PowerCut, _ power: RecordingSwitch, console: ConsoleCapture? = nil) -> TriggeredPowerCut {
        TriggeredPowerCut(
            board: "test", cut: cut, powerSwitch: power, offTime: .milliseconds(100), applyWindow: .milliseconds(100),
            waitForConsoleLine: { text, after in
                guard let console else { throw BoardError(board: "test", operation: "console", reason: "none") }
                _ = try await console.waitForLine(containing: text, after: after, timeout: .seconds(10))
            },
            waitUntilGone: {})
    }

    @Test("A fraction cuts at the chunk boundary while the transfer waits, however slow the switch; then off-time, then on")
    func fractionWithSlowSwitch() async throws {
        let power = RecordingSwitch(offDelay: .milliseconds(150))
        let record = try await Self.cut(PowerCut(.download, at: 0.3), power).run(imageSize: Self.size, consoleLinesBefore: 0,
                                                                                   transfer: Self.transfer(into: power))
        let target = Int(Double(Self.size) * 0.3)
        #expect(record.sentAtTrigger == record.sentAtCut, "nothing left while the switch was thrown")
        #expect(try #require(record.sentAtCut) >= target && record.sentAtCut! < target + Self.chunk)
        #expect(record.latency >= .milliseconds(150), "the switch's own time is measured: \(record.latency)")
        let changes = power.changes.withLockedValue { $0 }
        #expect(changes.map(\.on) == [false, true])
        #expect(changes[1].at - changes[0].at >= .milliseconds(100), "off for the off-time")
    }

    @Test("A console line fires the cut mid-transfer")
    func consoleLine() async throws {
        let folder = try temporaryFolder("triggered-cut-console")
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        let console = try ConsoleCapture(logFile: folder.appendingPathComponent("console.log"), locate: { terminal.slavePath })
        await console.start()
        try await console.waitUntilAttached(to: terminal.slavePath)
        let power = RecordingSwitch()
        let transfer = Self.transfer(into: power, pace: .milliseconds(5))
        let printer = Task {
            try await Task.sleep(for: .milliseconds(100))
            try await terminal.master.write(Array("0000001234 [system.ota] INFO: staging area erased\r\n".utf8))
        }
        let record = try await Self.cut(PowerCut(.download, trigger: .consoleLine("staging area erased")), power, console: console)
            .run(imageSize: Self.size, consoleLinesBefore: 0, transfer: transfer)
        try await printer.value
        let landed = try #require(record.sentAtCut)
        #expect(landed > 0 && landed < Self.size, "cut mid-transfer at \(landed)")
        #expect(power.changes.withLockedValue { $0.map(\.on) } == [false, true])
        await console.stop()
    }

    @Test("A delay after the transfer starts cuts on the clock; after the transfer ends, once it has ended")
    func delays() async throws {
        let early = RecordingSwitch()
        let started = try await Self.cut(PowerCut(.download, trigger: .delay(.milliseconds(60), after: .transferStarted)), early)
            .run(imageSize: Self.size, consoleLinesBefore: 0, transfer: Self.transfer(into: early, pace: .milliseconds(5)))
        #expect(try #require(started.sentAtCut) < Self.size)

        let late = RecordingSwitch()
        let ended = try await Self.cut(PowerCut(.apply, trigger: .delay(.milliseconds(10), after: .transferFinished)), late)
            .run(imageSize: Self.size, consoleLinesBefore: 0, transfer: Self.transfer(into: late, pace: .zero))
        #expect(ended.sentAtCut == Self.size)
        #expect(late.changes.withLockedValue { $0.map(\.on) } == [false, true])
    }

    @Test("A switch that fails, a trigger that never fires, and a board that outlives its cut are errors with the reason")
    func failures() async throws {
        let broken = RecordingSwitch(fails: true)
        let failed = await #expect(throws: BoardError.self) {
            _ = try await Self.cut(PowerCut(.download, at: 0.5), broken).run(imageSize: Self.size, consoleLinesBefore: 0,
                                                                            transfer: Self.transfer(into: broken))
        }
        #expect(failed?.reason.contains("the switch failed to cut") == true && failed?.reason.contains("status 3") == true)

        let idle = RecordingSwitch()
        let never = await #expect(throws: BoardError.self) {
            _ = try await Self.cut(PowerCut(.download, trigger: .byteOffset(10 * Self.size)), idle)
                .run(imageSize: Self.size, consoleLinesBefore: 0, transfer: Self.transfer(into: idle, pace: .zero))
        }
        #expect(never?.reason.contains("never fired") == true)
        #expect(idle.changes.withLockedValue { $0.isEmpty })

        // A board that kept going: the transfer ignores the power and completes.
        let liar = RecordingSwitch()
        let outlived = await #expect(throws: BoardError.self) {
            _ = try await Self.cut(PowerCut(.download, at: 0.5), liar).run(imageSize: Self.size, consoleLinesBefore: 0) { progress in
                for sent in stride(from: Self.chunk, through: Self.size, by: Self.chunk) { await progress(sent, Self.size) }
            }
        }
        #expect(outlived?.reason.contains("the switch does not cut it") == true)
        #expect(liar.powered, "switched back on after the failed cut")
    }
}
