import DFU
import Emulator
import Firmware
import Links
import NIOConcurrencyHelpers
import Testing

/// The host half of DfuSe (what `otabench flash` and the DFU facet use), against emulated
/// boards in DFU mode. dfu-util checks the same boards in USBTests; these check our host.
@Suite("DfuSe host", .timeLimit(.minutes(5)))
struct DfuSeHostTests {
    static func boardInDFU(_ platform: Platform, clock: ManualClock) async throws -> BoardEmulator {
        let board = BoardEmulator(try BoardModel.provisioned(platform: platform), clock: clock)
        await board.update { $0.enterDFUMode() }
        return board
    }

    /// The board's poll timeouts pass on the host's clock instantly: the board's own clock is manual.
    static func host(_ board: BoardEmulator) -> DfuSeHost {
        DfuSeHost(pipe: board, sleep: { _ in })
    }

    @Test("Writes an app at its start address with progress to the last byte, reads back the same bytes, and leave runs it",
          arguments: ["boron", "photon", "p2"])
    func writeReadLeave(_ name: String) async throws {
        let platform = Platform(buildName: name)!
        let clock = ManualClock()
        let board = try await Self.boardInDFU(platform, clock: clock)
        let image = try FirmwareSet.application(for: platform, size: 20_000, seed: 77)
        let start = try #require(ModuleFile(bytes: image).modules.first).startAddress
        let layout = try #require(DfuSeMemoryLayout(platform.dfuAltSettings[0].memoryLayout))
        let seen = NIOLockedValueBox<[Int]>([])
        let host = Self.host(board)
        try await host.write(image, at: start, layout: layout) { progress in
            seen.withLockedValue { $0.append(progress.bytesWritten) }
            #expect(progress.totalBytes == image.count)
        }
        let written = seen.withLockedValue { $0 }
        #expect(written == written.sorted(), "progress goes forward: \(written)")
        #expect(written.last == image.count)
        #expect(try await host.read(start, count: image.count) == image)

        try await host.leave()
        await clock.waitForSleepers()
        clock.advance(by: .seconds(1))
        try await board.waitUntil { $0.mode == .running }
        #expect(await board.snapshot().runningApp?.size == image.count)
    }

    @Test("An address outside the board's memory is refused before a byte is sent; the board keeps its app")
    func outsideMemory() async throws {
        let platform = Platform(buildName: "boron")!
        let board = try await Self.boardInDFU(platform, clock: ManualClock())
        let before = await board.snapshot().modules
        let layout = try #require(DfuSeMemoryLayout(platform.dfuAltSettings[0].memoryLayout))
        await #expect(throws: DfuSeError.addressOutsideMemory(0x2000_0000)) {
            try await Self.host(board).write([1, 2, 3, 4], at: 0x2000_0000, layout: layout)
        }
        #expect(await board.snapshot().modules == before)
    }

    @Test("A write into the read-only bootloader tail fails with the device's error, not a hang or a silent success")
    func readOnlySector() async throws {
        let platform = Platform(buildName: "boron")!
        let board = try await Self.boardInDFU(platform, clock: ManualClock())
        let layout = try #require(DfuSeMemoryLayout(platform.dfuAltSettings[0].memoryLayout))
        await #expect {
            try await Self.host(board).write([UInt8](repeating: 0, count: 4096), at: 0x000F_8000, layout: layout)
        } throws: { error in
            guard let error = error as? DfuSeError, case .deviceError = error else { return false }
            return true
        }
    }
}
