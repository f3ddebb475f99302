import ControlRequests
import Emulator
import Firmware
import Testing

/// The host half of control requests (what the USB board's facets use), against emulated
/// boards; particle-usb checks the same boards in the peers' tests.
@Suite("Control-request client", .timeLimit(.minutes(5)))
struct ControlRequestClientTests {
    static let boron = Platform(buildName: "boron")!

    static func client(_ board: BoardEmulator) -> ControlRequestClient {
        ControlRequestClient(pipe: board, sleep: { _ in })
    }

    @Test("Identity, version and the module table come back as the board has them")
    func identity() async throws {
        let board = try BoardEmulator(platform: Self.boron)
        let model = await board.snapshot()
        let client = Self.client(board)
        #expect(try await client.deviceID() == model.deviceID)
        #expect(try await client.systemVersion() == model.deviceOS.description)
        let users = try await client.moduleInfo().modules.filter { $0.type == .userPartModule }
        #expect(users.map { Int($0.size) } == [model.runningApp?.size].compactMap { $0 })
    }

    @Test("updateFirmware sends the image in the board's chunks with progress to the end; the board runs it")
    func update() async throws {
        let board = try BoardEmulator(platform: Self.boron)
        let image = try FirmwareSet.application(for: Self.boron, size: 30_000, seed: 21)
        let client = Self.client(board)
        try await client.updateFirmware(image) { sent, total in
            #expect(total == image.count)
            #expect(sent <= total)
        }
        let model = await board.snapshot()
        #expect(model.lastResetReason == .update)
        #expect(model.runningApp?.size == image.count)
    }

    @Test("A refusal is a typed error with the device's system error, and the board keeps its app")
    func refusal() async throws {
        let board = try BoardEmulator(platform: Self.boron)
        let before = await board.snapshot().runningApp
        var image = try FirmwareSet.application(for: Self.boron, size: 4000, seed: 22)
        image[100] ^= 1
        await #expect {
            try await Self.client(board).updateFirmware(image)
        } throws: { error in
            (error as? ControlRequestError)?.systemError == .otaIntegrityCheckFailed
        }
        #expect(await board.snapshot().runningApp == before)

        await board.update { $0.disableUpdates() }
        await #expect {
            try await Self.client(board).updateFirmware(image)
        } throws: { error in
            (error as? ControlRequestError)?.systemError == .otaUpdatesDisabled
        }
    }
}
