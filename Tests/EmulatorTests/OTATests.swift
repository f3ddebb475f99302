@testable import Emulator
import Firmware
import TestSupport
import Testing

extension Platform: CustomTestStringConvertible {
    public var testDescription: String { buildName }
}

/// Sends an image the way the cloud or a USB host does: start, chunks, finish.
func update(_ board: inout BoardModel, with image: [UInt8], source: BoardModel.UpdateSource = .cloud) throws(UpdateError) {
    let chunk = try board.startUpdate(size: image.count, source: source)
    var offset = 0
    while offset < image.count {
        let end = min(offset + chunk, image.count)
        try board.receiveChunk(Array(image[offset..<end]))
        offset = end
    }
    try board.finishUpdate()
}

@Suite("Emulated boards: boot and OTA", .timeLimit(.minutes(10)))
struct OTATests {
    static let families = ["photon", "boron", "p2"].map { Platform(buildName: $0)! }

    @Test("Every catalog platform boots its standard firmware and runs the app", arguments: Platform.catalog)
    func everyPlatformBoots(_ platform: Platform) throws {
        let board = try BoardModel.provisioned(platform: platform)
        #expect(board.mode == .running, "\(board.console.suffix(3))")
        #expect(board.runningApp != nil)
        let functions = Set(board.modules.map(\.function))
        #expect(functions.isSuperset(of: [.bootloader, .system, .user]))
        #expect(board.modules.allSatisfy { $0.crcOK })
        #expect(board.mode.productID(platform) == 0xC000 + platform.id.rawValue)
        #expect(board.storage.contents.internalFlash.residentPages < 64, "an idle board stays small")
    }

    @Test("OTA happy path: the app keeps running during the download, the new app runs after the reset", arguments: families)
    func happyPath(_ platform: Platform) throws {
        var board = try BoardModel.provisioned(platform: platform)
        let old = try #require(board.runningApp)
        let startedAt = board.appStartedAt
        let image = try FirmwareSet.application(for: platform, size: 40_000, seed: 5)
        let chunk = try board.startUpdate(size: image.count, source: .cloud)
        #expect(chunk == 512)
        for offset in stride(from: 0, to: image.count, by: chunk) {
            try board.receiveChunk(Array(image[offset..<min(offset + chunk, image.count)]))
            #expect(board.mode == .running)
            #expect(board.runningApp == old)
            #expect(board.appStartedAt == startedAt)
        }
        #expect(board.storage.contents.dct.queuedSlots.isEmpty)
        try board.finishUpdate()
        #expect(board.mode == .running)
        #expect(board.runningApp?.storedCRC != old.storedCRC)
        #expect(board.runningApp?.size == image.count)
        #expect(board.lastResetReason == .update)
        #expect(board.storage.contents.dct.queuedSlots.isEmpty)
        #expect(board.events.contains(.firmwareUpdate(.begin)))
        #expect(board.events.contains(.firmwareUpdate(.progress)))
        #expect(board.events.contains(.firmwareUpdate(.complete)))
        #expect(board.events.contains(.reset(.update)))
        let phases = Set(board.storage.log.map(\.phase))
        #expect(phases.isSuperset(of: [.download, .queue, .applyCopy]))
    }

    struct BadImage: CustomTestStringConvertible, Sendable {
        var name: String
        var make: @Sendable (Platform) throws -> [UInt8]
        var systemError: String
        var testDescription: String { name }
    }

    static let badImages: [BadImage] = [
        BadImage(name: "corrupt", make: { platform in
            var bytes = try FirmwareSet.application(for: platform, size: 20_000, seed: 9)
            bytes[5000] ^= 0x20
            return bytes
        }, systemError: "SYSTEM_ERROR_OTA_INTEGRITY_CHECK_FAILED"),
        BadImage(name: "wrong platform", make: { platform in
            let other = platform.id == 13 ? Platform(buildName: "argon")! : Platform(buildName: "boron")!
            return try FirmwareSet.application(for: other, size: 20_000, seed: 9)
        }, systemError: "SYSTEM_ERROR_OTA_INVALID_PLATFORM"),
        BadImage(name: "unmet dependency (a system part needing a newer bootloader)", make: { platform in
            let slot = platform.slots.first { $0.function == .system }!
            return try ModuleBuilder(platform: platform, function: .system, index: slot.index, version: 9000,
                                     dependencies: [ModuleDependency(function: .bootloader, index: 0, version: 9999)],
                                     payload: SampleModules.payload(4000)).build()
        }, systemError: "SYSTEM_ERROR_OTA_DEPENDENCY_CHECK_FAILED"),
        BadImage(name: "too large", make: { platform in
            try FirmwareSet.application(for: platform, size: platform.maximumAppSize + 4096, seed: 9)
        }, systemError: "SYSTEM_ERROR_OTA_INVALID_SIZE"),
        BadImage(name: "wrong address", make: { platform in
            let slot = platform.slots.first { $0.function == .user }!
            return try ModuleBuilder(platform: platform, function: .user, index: slot.index, version: 6,
                                     payload: SampleModules.payload(4000), startAddress: slot.start - 0x1000).build()
        }, systemError: "SYSTEM_ERROR_OTA_INVALID_ADDRESS"),
    ]

    @Test("Bad images are refused with Device OS's error, nothing is queued, the old app runs on",
          arguments: families, badImages)
    func badImageRefused(_ platform: Platform, _ bad: BadImage) throws {
        var board = try BoardModel.provisioned(platform: platform)
        let old = board.runningApp
        let image = try bad.make(platform)
        let error = #expect(throws: UpdateError.self) { try update(&board, with: image) }
        #expect(error?.systemError == bad.systemError, "\(String(describing: error))")
        #expect(board.storage.contents.dct.queuedSlots.isEmpty)
        #expect(board.mode == .running)
        #expect(board.runningApp == old)
        #expect(!board.events.contains(.firmwareUpdate(.complete)))
    }

    @Test("An app that needs a newer Device OS is accepted over the air and the board lands in safe mode (§4, userDepsOptional)")
    func appNeedingNewerDeviceOS() throws {
        let boron = Platform(buildName: "boron")!
        var board = try BoardModel.provisioned(platform: boron)
        try update(&board, with: try FirmwareSet.application(for: boron, size: 8000, seed: 3, systemVersion: 9000))
        guard case .safeMode(let reason) = board.mode else { Issue.record("not in safe mode: \(board.mode)"); return }
        #expect(reason.contains("system 1 v9000"))
    }

    @Test("A transfer missing bytes is refused at finish; data past the size cancels it")
    func transferErrors() throws {
        let boron = Platform(buildName: "boron")!
        var board = try BoardModel.provisioned(platform: boron)
        let image = try FirmwareSet.application(for: boron, size: 8000, seed: 3)
        _ = try board.startUpdate(size: image.count, source: .usb)
        try board.receiveChunk(Array(image[0..<1024]))
        #expect(throws: UpdateError.invalidState("\(image.count - 1024) bytes missing")) { try board.finishUpdate() }
        #expect(!board.updateInProgress)
        _ = try board.startUpdate(size: 10, source: .usb)
        #expect(throws: UpdateError.outOfRange) { try board.receiveChunk([UInt8](repeating: 0, count: 11)) }
        #expect(!board.updateInProgress)
        #expect(throws: UpdateError.invalidSize(0, maximum: boron.staging.size)) { _ = try board.startUpdate(size: 0, source: .usb) }
    }

    @Test("Gen 3 drops a queued but unapplied update when a new one starts; Gen 2 keeps it (§5.2)")
    func queuedSlotsDroppedOnStart() throws {
        for (name, dropped) in [("boron", true), ("photon", false)] {
            let platform = Platform(buildName: name)!
            var board = try BoardModel.provisioned(platform: platform)
            try board.storage.writeDCT {
                $0.moduleSlots[1] = ModuleSlotRecord(sourceDevice: .internal, sourceAddress: 0, destination: 0, length: 100,
                                                     function: 5, dropModuleInfo: false, compressed: false)
            }
            _ = try board.startUpdate(size: 1000, source: .cloud)
            #expect(board.storage.contents.dct.queuedSlots.isEmpty == dropped, "\(name)")
        }
    }
}
