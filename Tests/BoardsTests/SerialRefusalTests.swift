@testable import Boards
import Firmware
import Links
import ScenarioAPI
import TestSupport
import Testing

/// Device OS says why it refused an image sent by YMODEM on the line after its CANs: a system
/// error from 2.x, the failed validation flags before. Both reach a scenario as the same cause.
@Suite("A board's YMODEM refusal", .timeLimit(.minutes(1)))
struct SerialRefusalTests {
    @Test("The refusal line becomes a typed cause: 2.x's system error, 1.x's validation flags, an unknown code, anything else",
          arguments: [
              ("Validation failed: -1330", BoardError.Cause.refused(.otaIntegrityCheckFailed)),
              ("Validation failed: -1360", .refused(.otaInvalidPlatform)),
              ("Validation failed: 0x2", .refused(.otaIntegrityCheckFailed)),
              ("Validation failed: 0x10", .refused(.otaInvalidPlatform)),
              ("Validation failed: 0x44", .refused(.otaDependencyCheckFailed)),
              // Every check failed (a module outside its slot): integrity is the first named.
              ("Validation failed: 0x5e", .refused(.otaIntegrityCheckFailed)),
              ("Validation failed: -4242", .refusedWithCode(-4242)),
              ("Validation failed: 0x0", .misbehaved("the board refused the image with validation flags 0x0: Validation failed: 0x0")),
              ("The file size is higher than the allowed space memory!",
               .misbehaved("the board refused the image: The file size is higher than the allowed space memory!")),
          ])
    func refusalLine(_ line: String, _ cause: BoardError.Cause) {
        #expect(BoardError.Cause(serialRefusal: line) == cause)
    }

    @Test("A corrupt image by YMODEM is refused as the device's integrity error on a 1.5.2 Photon and a 5.8.0 Boron alike", arguments: ["photon", "boron"])
    func corruptImageByYModem(_ name: String) async throws {
        let platform = try #require(Platform(buildName: name))
        let board = try EmulatedBoard(name: "refusing-\(name)", platform: platform)
        var corrupt = FirmwareImage(bytes: try FirmwareSet.application(for: platform, size: 20_000, seed: 91), label: "corrupt")
        corrupt.bytes[corrupt.bytes.count / 2] ^= 0x40
        await #expect { try await board.required((any YModemUpdates).self).update(to: corrupt) } throws: {
            ($0 as? BoardError)?.cause == .refused(.otaIntegrityCheckFailed)
        }
    }
}
