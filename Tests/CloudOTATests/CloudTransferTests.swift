import Emulator
import Firmware
import Foundation
import CloudOTA
import Links
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// OTA protocol v3 between the local cloud's sender and an emulated board's Device OS, over an
/// in-process session with the faults a network brings: a dropped connection, reordering,
/// duplicates, a tampered chunk, and a power cut.
@Suite("Cloud OTA transfer (protocol v3)", .timeLimit(.minutes(10)))
struct CloudTransferTests {
    /// A session that misbehaves the way it is told to.
    final class FaultyLink: CloudUpdateLink {
        let base: EmulatedCloudSession
        let dropAfter: Int?
        let tamper: Int?
        let reorder: Bool
        let powerCutAfter: Int?
        let sent = NIOLockedValueBox(0)
        let held = NIOLockedValueBox<(Int, [UInt8])?>(nil)

        init(_ board: BoardEmulator, dropAfter: Int? = nil, tamper: Int? = nil, reorder: Bool = false, powerCutAfter: Int? = nil) {
            base = EmulatedCloudSession(board: board)
            self.dropAfter = dropAfter
            self.tamper = tamper
            self.reorder = reorder
            self.powerCutAfter = powerCutAfter
        }

        func start(size: Int, sha256: [UInt8], chunkSize: Int) async throws -> Int {
            try await base.start(size: size, sha256: sha256, chunkSize: chunkSize)
        }

        func chunk(index: Int, data: [UInt8]) async throws -> CloudTransferAck {
            let count = sent.withLockedValue { $0 += 1; return $0 }
            if let dropAfter, count > dropAfter { throw LinkError.disconnected }
            if let powerCutAfter, count == powerCutAfter { await base.board.update { $0.powerOff() } }
            var data = data
            if index == tamper { data[data.count / 2] ^= 0x20 }
            if reorder {
                // Every even chunk is held back and delivered after the next one, twice.
                if index % 2 == 0, held.withLockedValue({ $0 == nil }) {
                    held.withLockedValue { $0 = (index, data) }
                    return CloudTransferAck(upTo: index, selective: [])
                }
                let ack = try await base.chunk(index: index, data: data)
                if let (heldIndex, heldData) = held.withLockedValue({ state -> (Int, [UInt8])? in defer { state = nil }; return state }) {
                    _ = try await base.chunk(index: heldIndex, data: heldData)
                    return try await base.chunk(index: heldIndex, data: heldData)
                }
                return ack
            }
            return try await base.chunk(index: index, data: data)
        }

        func finish(cancel: Bool) async throws { try await base.finish(cancel: cancel) }
    }

    /// A Boron running its standard app, that app's fingerprint, and a new app to send.
    static func board() throws -> (BoardEmulator, old: String, new: [UInt8]) {
        let boron = Platform(buildName: "boron")!
        let standard = try FirmwareSet.standard(for: boron)
        let model = try BoardModel.provisioned(platform: boron, deviceID: BoardModel.defaultDeviceID(boron, serial: 90), firmware: standard)
        let new = try FirmwareSet.application(for: boron, size: 40_000, seed: 99, systemVersion: standard.systemVersion)
        return (BoardEmulator(model), try fingerprint(standard.application), new)
    }

    /// The SHA-256 a module's suffix carries, as the board reports it for what it runs.
    static func fingerprint(_ module: [UInt8]) throws -> String {
        try #require(try ModuleFile(bytes: module).modules.first?.suffix?.sha256.hexString)
    }

    static func running(_ board: BoardEmulator) async -> String? {
        await board.snapshot().runningApp?.storedSHA256.hexString
    }

    @Test("A file goes over in 512-byte chunks and the board runs it")
    func plain() async throws {
        let (board, _, new) = try Self.board()
        let stats = try await CloudUpdateSender().send(new, over: EmulatedCloudSession(board: board))
        #expect(stats.resumedAt == 0 && stats.chunksSent == 79 && stats.chunkCount == 79, "\(stats)")
        #expect(await Self.running(board) == (try Self.fingerprint(new)))
    }

    @Test("A dropped connection resumes where the device stopped, not from the start")
    func resumes() async throws {
        let (board, _, new) = try Self.board()
        await #expect(throws: LinkError.disconnected) { _ = try await CloudUpdateSender().send(new, over: FaultyLink(board, dropAfter: 30)) }
        let stats = try await CloudUpdateSender().send(new, over: EmulatedCloudSession(board: board))
        #expect(stats.resumedAt == 30 * 512 && stats.chunksSent == 79 - 30, "\(stats)")
        #expect(await Self.running(board) == (try Self.fingerprint(new)))
    }

    @Test("Chunks out of order and duplicated still make the exact file")
    func reordered() async throws {
        let (board, _, new) = try Self.board()
        _ = try await CloudUpdateSender().send(new, over: FaultyLink(board, reorder: true))
        #expect(await Self.running(board) == (try Self.fingerprint(new)))
    }

    @Test("A tampered chunk fails the file's SHA-256: refused, the old app still runs")
    func tampered() async throws {
        let (board, old, new) = try Self.board()
        await #expect(throws: UpdateError.self) { _ = try await CloudUpdateSender().send(new, over: FaultyLink(board, tamper: 12)) }
        #expect(await Self.running(board) == old)
        #expect(await board.snapshot().console.contains { $0.text.contains("does not match its SHA-256") })
    }

    @Test("A power cut mid-transfer loses the partial file: after power returns the transfer starts over and completes")
    func powerCut() async throws {
        let (board, old, new) = try Self.board()
        await #expect(throws: LinkError.disconnected) { _ = try await CloudUpdateSender().send(new, over: FaultyLink(board, powerCutAfter: 40)) }
        await board.update { $0.powerOn() }
        #expect(await Self.running(board) == old)
        let stats = try await CloudUpdateSender().send(new, over: EmulatedCloudSession(board: board))
        #expect(stats.resumedAt == 0)
        #expect(await Self.running(board) == (try Self.fingerprint(new)))
    }
}
