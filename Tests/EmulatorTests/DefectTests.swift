@testable import Emulator
import Firmware
import TestSupport
import Testing

/// Each seeded defect, shown to break what it is about.
@Suite("Seeded defects", .timeLimit(.minutes(10)))
struct DefectTests {
    static let boron = Platform(buildName: "boron")!

    @Test("skip-crc: a corrupt image is accepted and the board runs a module whose CRC fails")
    func skipCRC() throws {
        var image = try FirmwareSet.application(for: Self.boron, size: 20_000, seed: 4)
        image[3000] ^= 0x01
        var sound = try BoardModel.provisioned(platform: Self.boron)
        #expect(throws: UpdateError.self) { try update(&sound, with: image) }
        var broken = try BoardModel.provisioned(platform: Self.boron, defects: [.skipCRCCheck])
        try update(&broken, with: image)
        #expect(broken.executingCorruptModule?.function == .user)
        #expect(broken.runningApp?.crcOK == false)
    }

    @Test("ignore-platform: an app built for another platform is queued and run")
    func ignorePlatform() throws {
        let image = try FirmwareSet.application(for: Platform(buildName: "bsom")!, size: 20_000, seed: 4)
        var broken = try BoardModel.provisioned(platform: Self.boron, defects: [.ignorePlatformID])
        try update(&broken, with: image)
        #expect(broken.runningApp?.prefix.platformID == 23)
    }

    @Test("ignore-dependencies: a system part needing a newer bootloader is accepted and runs instead of safe mode")
    func ignoreDependencies() throws {
        let image = try ModuleBuilder(platform: Self.boron, function: .system, index: 1, version: 9000,
                                      dependencies: [ModuleDependency(function: .bootloader, index: 0, version: 9999)],
                                      payload: SampleModules.payload(6000), startAddress: 0x0003_0000).build()
        var sound = try BoardModel.provisioned(platform: Self.boron)
        #expect(throws: UpdateError.self) { try update(&sound, with: image) }
        var broken = try BoardModel.provisioned(platform: Self.boron, defects: [.ignoreDependencies])
        try update(&broken, with: image)
        #expect(broken.mode == .running)
        #expect(broken.modules.contains { $0.function == .system && $0.version == 9000 })
    }

    @Test("ignore-disable-updates: an update starts although the app disabled updates")
    func ignoreDisableUpdates() throws {
        var sound = try BoardModel.provisioned(platform: Self.boron)
        sound.disableUpdates()
        #expect(throws: UpdateError.updatesDisabled) { _ = try sound.startUpdate(size: 1000, source: .cloud) }
        var broken = try BoardModel.provisioned(platform: Self.boron, defects: [.ignoreDisableUpdates])
        broken.disableUpdates()
        #expect(throws: Never.self) { _ = try broken.startUpdate(size: 1000, source: .cloud) }
    }

    @Test("accept-truncated: a transfer that ends early reports success though nothing new runs")
    func acceptTruncated() throws {
        let image = try FirmwareSet.application(for: Self.boron, size: 20_000, seed: 4)
        var broken = try BoardModel.provisioned(platform: Self.boron, defects: [.acceptTruncatedImage])
        let old = broken.runningApp
        _ = try broken.startUpdate(size: image.count, source: .usb)
        try broken.receiveChunk(Array(image[0..<8192]))
        try broken.finishUpdate()
        #expect(broken.events.contains(.firmwareUpdate(.complete)))
        #expect(broken.runningApp == old)
    }
}

@Suite("Seeded defects: forced updates", .timeLimit(.minutes(10)))
struct ForcedDefectTests {
    @Test("ignore-forced: a forced notice no longer overrides disableUpdates")
    func ignoreForced() throws {
        let boron = Platform(buildName: "boron")!
        var sound = try BoardModel.provisioned(platform: boron)
        sound.disableUpdates()
        sound.receiveUpdatesForcedNotice("true")
        #expect(throws: Never.self) { _ = try sound.startUpdate(size: 1000, source: .cloud) }
        var broken = try BoardModel.provisioned(platform: boron, defects: [.ignoreForcedUpdates])
        broken.disableUpdates()
        broken.receiveUpdatesForcedNotice("true")
        #expect(throws: UpdateError.updatesDisabled) { _ = try broken.startUpdate(size: 1000, source: .cloud) }
    }
}
