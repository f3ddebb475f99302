@testable import Emulator
import Firmware
import TestSupport
import Testing

@Suite("Bootloaders per generation", .timeLimit(.minutes(10)))
struct BootloaderTests {
    @Test("RTL872x: an overlapping system-part update is lost when cut between clearing and re-arming its slot")
    func rtlOverlapWindow() throws {
        let p2 = Platform(buildName: "p2")!
        var board = try BoardModel.provisioned(platform: p2)
        let oldVersion = try #require(board.modules.first { $0.function == .system }).version
        let image = try ModuleBuilder(
            platform: p2, function: .system, index: 1, version: oldVersion + 100,
            dependencies: [ModuleDependency(function: .bootloader, index: 0, version: 2400)],
            payload: SampleModules.payload(200_000, seed: 3)).build()
        let destination = p2.slot(for: .system, index: 1)!.start
        // Staged past the end of the small installed system part, but inside where the bigger
        // new one goes: the overlap the RTL872x bootloader handles through RAM.
        let installedSize = try #require(board.modules.first { $0.function == .system }).size
        #expect(installedSize < 0x10000)
        let source = destination + 0x10000
        try board.write(image, to: .internal, at: source)
        try board.storage.writeDCT {
            $0.moduleSlots[1] = ModuleSlotRecord(sourceDevice: .internal, sourceAddress: source, destination: destination,
                                                 length: image.count, function: ModuleFunction.system.rawValue,
                                                 dropModuleInfo: false, compressed: false)
        }
        let before = board
        board.storage.resetOperationLog()
        board.storage.recordsCheckpoints = true
        board.reset(.update)
        #expect(board.modules.first { $0.function == .system }?.version == oldVersion + 100)

        var lost = 0
        var versions: Set<UInt16> = []
        for checkpoint in board.storage.checkpoints {
            var cut = before
            cut.storage.contents = checkpoint.contents
            cut.powerOn()
            cut.reset(.user)
            let system = cut.modules.first { $0.function == .system && $0.crcOK }
            #expect(cut.mode == .running, "cut at \(checkpoint.operation): \(cut.mode)")
            versions.insert(system?.version ?? 0)
            if system?.version == oldVersion, cut.storage.contents.dct.queuedSlots.isEmpty { lost += 1 }
        }
        #expect(versions == [oldVersion, oldVersion + 100])
        #expect(lost > 0, "no cut fell inside the window")
    }

    @Test("Gen 2 Photon: with system part 2 damaged the DCT cannot be read, so a queued update waits and the board is in safe mode")
    func gen2DamagedSystemPart() throws {
        let photon = Platform(buildName: "photon")!
        var board = try BoardModel.provisioned(platform: photon)
        let part2 = try #require(board.modules.first { $0.function == .system && $0.index == 2 })
        board.storage.flipBit(.internal, at: part2.start + 0x1000, bit: 0)
        try board.storage.writeDCT {
            $0.moduleSlots[1] = ModuleSlotRecord(sourceDevice: .internal, sourceAddress: 0x080C_0000, destination: 0x080A_0000,
                                                 length: 100, function: ModuleFunction.user.rawValue, dropModuleInfo: false, compressed: false)
        }
        board.reset(.user)
        #expect(board.storage.contents.dct.queuedSlots.count == 1)
        guard case .safeMode = board.mode else { Issue.record("expected safe mode, got \(board.mode)"); return }
    }

    @Test("Gen 2: a bad system part 1 header restores the factory app forever, or drops to DFU without one")
    func gen2BadSystemHeader() throws {
        let photon = Platform(buildName: "photon")!
        var board = try BoardModel.provisioned(platform: photon)
        try board.storage.eraseSector(.internal, containing: 0x0802_0000)
        board.reset(.user)
        guard case .bricked = board.mode else { Issue.record("expected a restore loop, got \(board.mode)"); return }
        try board.storage.eraseSector(.internal, containing: photon.factoryImage!.address)
        board.reset(.user)
        #expect(board.mode == .dfu)
    }

    @Test("Gen 3: a damaged system part leaves the board in DFU; a damaged bootloader bricks it")
    func gen3Damage() throws {
        let boron = Platform(buildName: "boron")!
        var board = try BoardModel.provisioned(platform: boron)
        let system = try #require(board.modules.first { $0.function == .system })
        board.storage.flipBit(.internal, at: system.start + 0x2000, bit: 5)
        board.reset(.user)
        #expect(board.mode == .dfu)
        board.storage.flipBit(.internal, at: 0x000F_4000 + 0x400, bit: 1)
        board.reset(.user)
        guard case .bricked = board.mode else { Issue.record("expected bricked, got \(board.mode)"); return }
        #expect(board.mode.productID(boron) == nil)
    }

    @Test("Snapshots: a whole board copies cheaply and restores exactly")
    func snapshots() async throws {
        let boron = Platform(buildName: "boron")!
        let board = try BoardEmulator(platform: boron)
        let snapshot = await board.snapshot()
        let image = try FirmwareSet.application(for: boron, size: 20_000, seed: 21)
        try await board.update { model in try update(&model, with: image) }
        let updated = await board.snapshot()
        #expect(updated.runningApp?.storedCRC != snapshot.runningApp?.storedCRC)
        // Pages the update did not touch are shared, not copied.
        let shared = zip(snapshot.storage.contents.internalFlash.pages, updated.storage.contents.internalFlash.pages)
            .filter { $0.0 != nil && $0.0 === $0.1 }.count
        #expect(shared > 0)
        await board.restore(snapshot)
        #expect(await board.snapshot().runningApp == snapshot.runningApp)
        #expect(await board.snapshot().modules == snapshot.modules)
    }
}
