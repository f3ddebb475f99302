@testable import Emulator
import Firmware
import Testing

@Suite("Power-cut sweeps", .timeLimit(.minutes(10)))
struct SweepTests {
    static func sweep(_ name: String, size: Int = 48 << 10, torn: Bool = true, defects: Set<Defect> = []) throws -> PowerCutSweep.Result {
        let platform = Platform(buildName: name)!
        let image = try FirmwareSet.application(for: platform, size: size, seed: 77)
        return try PowerCutSweep(image: image, platform: platform, phase: .all, torn: torn, defects: defects).run()
    }

    @Test("Gen 3 and RTL872x: every cut ends with the old app (before queueing) or the new app (after)",
          arguments: ["boron", "tracker", "p2"])
    func gen3KeepsThePromise(_ name: String) throws {
        let result = try Self.sweep(name)
        #expect(Set(result.outcomes.keys) == [.oldApp, .newApp])
        for point in result.outcomes[.oldApp]! {
            #expect([.download, .validate, .queue].contains(point.phase), "old app after a cut at \(point)")
        }
        for point in result.outcomes[.newApp]! {
            #expect([.applyCopy, .boot].contains(point.phase), "new app after a cut at \(point)")
        }
        // Every operation was cut before, and every erase and program also halfway.
        #expect(result.cutPoints > result.operations)
        #expect(result.outcomes.values.joined().filter { $0.landedBytes == nil }.count == result.operations)
    }

    @Test("Gen 2 (Photon): cuts inside the bootloader's copy end where DO-1.2.1's code says")
    func gen2ReproducesTheSource() throws {
        let result = try Self.sweep("photon")
        let userSlot = Platform(buildName: "photon")!.slot(for: .user, index: 1)!.start
        var mismatches: [String] = []
        for (outcome, points) in result.outcomes {
            for point in points {
                let expected: PowerCutSweep.Outcome
                switch (point.phase, point.device, point.kind) {
                case (.download, _, _), (.validate, _, _), (.queue, _, _):
                    expected = .oldApp  // nothing queued yet, or the queue record not written
                case (.applyCopy, .dct, _):
                    expected = .newApp  // every slot is cleared first; before that the copy still comes
                case (.applyCopy, _, .erase):
                    // Slots already cleared: an untouched app survives; a half-erased header sends
                    // the system to the factory image.
                    expected = point.landedBytes == nil ? .oldApp : .factoryApp
                case (.applyCopy, _, .program) where point.address == userSlot:
                    // Erased sector: no header, factory restore; header landed but not the rest: CRC fails.
                    expected = point.landedBytes == nil ? .factoryApp : .safeMode
                case (.applyCopy, _, .program):
                    expected = .safeMode  // header programmed first, body incomplete: never retried
                default:
                    expected = .newApp
                }
                if outcome != expected { mismatches.append("\(point): \(outcome), expected \(expected)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(result.count(.factoryApp) == 2)
        #expect(result.count(.safeMode) > 10)
        #expect(result.count(.newApp) == 1)
    }

    @Test("With non-atomic apply seeded into a Gen 3 board the sweep finds cuts that end badly")
    func nonAtomicApplyIsCaught() throws {
        let result = try Self.sweep("boron", defects: [.nonAtomicApply])
        let bad = result.outcomes(outside: [.oldApp, .newApp])
        #expect(!bad.isEmpty)
        #expect(result.count(.safeMode) > 0)
        // And without the defect the same sweep is clean.
        #expect(try Self.sweep("boron").outcomes(outside: [.oldApp, .newApp]).isEmpty)
    }

    @Test("A sweep refuses an image the board would not accept")
    func refusedImage() throws {
        let boron = Platform(buildName: "boron")!
        let foreign = try FirmwareSet.application(for: Platform(buildName: "argon")!, size: 8000, seed: 1)
        #expect(throws: PowerCutSweep.Failure.self) { try PowerCutSweep(image: foreign, platform: boron).run() }
        #expect(throws: PowerCutSweep.Failure.self) { try PowerCutSweep(image: [1, 2, 3]) }
    }
}
