import Firmware
import TestSupport
import Testing

@Suite("Compatibility rules", .timeLimit(.minutes(10)))
struct CompatibilityTests {
    static let photon = SampleModules.platform("photon")
    static let electron = SampleModules.platform("electron")
    static let boron = SampleModules.platform("boron")
    static let argon = SampleModules.platform("argon")

    /// A Photon running Device OS with system parts at version 3.
    static let photonModules = [
        InstalledModule(function: .bootloader, index: 0, version: 2),
        InstalledModule(function: .system, index: 1, version: 3),
        InstalledModule(function: .system, index: 2, version: 3, dependencies: [.init(function: .system, index: 1, version: 3)]),
    ]
    /// A Boron on Device OS 4.1: bootloader 1200, system part 4100 needing it.
    static let boronModules = [
        InstalledModule(function: .bootloader, index: 0, version: 1200),
        InstalledModule(function: .system, index: 1, version: 4100, dependencies: [.init(function: .bootloader, index: 0, version: 1200)]),
    ]

    static func module(_ bytes: [UInt8]) throws -> FirmwareModule {
        try #require(try ModuleFile(bytes: bytes).modules.first)
    }

    static func build(_ platform: Platform, _ function: ModuleFunction, _ index: UInt8, version: UInt16,
                      needs dependencies: [ModuleDependency] = [], payload: Int = 1000, start: UInt32? = nil,
                      mcuTarget: UInt8? = nil) throws -> FirmwareModule {
        try module(ModuleBuilder(platform: platform, function: function, index: index, version: version,
                                 dependencies: dependencies, payload: SampleModules.payload(payload),
                                 startAddress: start, mcuTarget: mcuTarget).build())
    }

    @Test("A user app whose system part is installed is compatible")
    func compatibleUserApp() throws {
        let app = try Self.module(SampleModules.userApp(for: Self.photon, systemVersion: 3))
        let verdict = Compatibility.check(app, on: Self.photon, installed: Self.photonModules)
        #expect(verdict.isCompatible, "\(verdict.problems)")
    }

    @Test("An app built for another platform is refused as the wrong platform")
    func wrongPlatform() throws {
        let app = try Self.module(SampleModules.userApp(for: Self.electron, systemVersion: 3))
        let verdict = Compatibility.check(app, on: Self.photon, installed: Self.photonModules)
        #expect(verdict.primary == .wrongPlatform(image: Self.electron.id, board: Self.photon.id))
        #expect(verdict.primary?.systemError == "SYSTEM_ERROR_OTA_INVALID_PLATFORM")
    }

    @Test("An app that needs a newer Device OS has an unmet dependency, which OTA accepts (safe mode follows)")
    func unmetDependency() throws {
        let app = try Self.module(SampleModules.userApp(for: Self.photon, systemVersion: 5))
        let strict = Compatibility.check(app, on: Self.photon, installed: Self.photonModules)
        #expect(strict.problems == [.unmetDependency(required: .init(function: .system, index: 2, version: 5), installedVersion: 3)])
        let ota = Compatibility.check(app, on: Self.photon, installed: Self.photonModules, policy: .userPartDependenciesOptional)
        #expect(ota.isCompatible)
    }

    @Test("A dependency on a module the board does not have is unmet")
    func missingDependency() throws {
        let app = try Self.module(SampleModules.userApp(for: Self.boron, systemVersion: 4100))
        let verdict = Compatibility.check(app, on: Self.boron, installed: [])
        #expect(verdict.problems == [.unmetDependency(required: .init(function: .system, index: 1, version: 4100), installedVersion: nil)])
    }

    @Test("Satisfied chains: user → system part → bootloader on Gen 3")
    func gen3Chain() throws {
        let system = try Self.build(Self.boron, .system, 1, version: 4200, needs: [.init(function: .bootloader, index: 0, version: 1200)])
        #expect(Compatibility.check(system, on: Self.boron, installed: Self.boronModules).isCompatible)
        let app = try Self.module(SampleModules.userApp(for: Self.boron, systemVersion: 4100))
        #expect(Compatibility.check(app, on: Self.boron, installed: Self.boronModules).isCompatible)

        let needsNewerBootloader = try Self.build(Self.boron, .system, 1, version: 5000,
                                                  needs: [.init(function: .bootloader, index: 0, version: 1300)])
        #expect(Compatibility.check(needsNewerBootloader, on: Self.boron, installed: Self.boronModules).primary
                == .unmetDependency(required: .init(function: .bootloader, index: 0, version: 1300), installedVersion: 1200))
    }

    @Test("Gen 2: system part 2 depends on system part 1")
    func gen2SystemPartChain() throws {
        let part2 = try Self.build(Self.photon, .system, 2, version: 5, needs: [.init(function: .system, index: 1, version: 5)])
        #expect(Compatibility.check(part2, on: Self.photon, installed: Self.photonModules).primary
                == .unmetDependency(required: .init(function: .system, index: 1, version: 5), installedVersion: 3))
        var upgraded = Self.photonModules
        upgraded[1].version = 5
        #expect(Compatibility.check(part2, on: Self.photon, installed: upgraded).isCompatible)
    }

    @Test("DEPENDENCIES_FULL: a system part that would break another installed one is refused")
    func dependenciesFull() throws {
        var installed = Self.photonModules
        installed[1].version = 5
        installed[2] = InstalledModule(function: .system, index: 2, version: 5, dependencies: [.init(function: .system, index: 1, version: 5)])
        let downgrade = try Self.build(Self.photon, .system, 1, version: 3)
        let verdict = Compatibility.check(downgrade, on: Self.photon, installed: installed)
        #expect(verdict.problems == [.breaksInstalledModule(dependent: installed[2], requires: .init(function: .system, index: 1, version: 5), incomingVersion: 3)])
        #expect(verdict.primary?.systemError == "SYSTEM_ERROR_OTA_DEPENDENCY_CHECK_FAILED")
        // The same version, or a user app, breaks nothing.
        #expect(Compatibility.check(try Self.build(Self.photon, .system, 1, version: 5), on: Self.photon, installed: installed).isCompatible)
    }

    @Test("An image whose addresses lie outside its slot is out of range")
    func outOfRange() throws {
        let misplaced = try Self.build(Self.boron, .user, 2, version: 6, start: 0x000C_0000)
        #expect(Compatibility.check(misplaced, on: Self.boron, installed: Self.boronModules).primary
                == .addressOutOfRange(start: 0x000C_0000, end: misplaced.endAddress, slotStart: 0x000B_4000, slotEnd: 0x000F_4000))
        let belowSystem = try Self.build(Self.boron, .system, 1, version: 4100, start: 0x0002_0000)
        if case .addressOutOfRange = Compatibility.check(belowSystem, on: Self.boron, installed: Self.boronModules).primary {} else {
            Issue.record("a system part at 0x20000 was not refused")
        }
        // Both system-part layouts Device OS has used are in range.
        for start: UInt32 in [0x0002_8000, 0x0003_0000] {
            let system = try Self.build(Self.boron, .system, 1, version: 4100, needs: [.init(function: .bootloader, index: 0, version: 1200)], start: start)
            #expect(Compatibility.check(system, on: Self.boron, installed: Self.boronModules).isCompatible)
        }
    }

    @Test("An app larger than its slot is too large")
    func tooLarge() throws {
        let big = try Self.build(Self.boron, .user, 2, version: 6, payload: 300 << 10)
        #expect(Compatibility.check(big, on: Self.boron, installed: Self.boronModules).primary == .tooLarge(size: big.size, maximum: 256 << 10))
        let photonBig = try Self.build(Self.photon, .user, 1, version: 6, payload: 129 << 10)
        #expect(Compatibility.check(photonBig, on: Self.photon, installed: Self.photonModules).primary == .tooLarge(size: photonBig.size, maximum: 128 << 10))
    }

    @Test("A corrupt image is refused before anything else")
    func corrupt() throws {
        var bytes = try SampleModules.userApp(for: Self.photon, systemVersion: 3)
        bytes[300] ^= 0x01
        let verdict = Compatibility.check(try Self.module(bytes), on: Self.photon, installed: Self.photonModules)
        guard case .corrupt(let reasons) = verdict.primary else { Issue.record("not corrupt: \(verdict)"); return }
        #expect(reasons.contains { $0.contains("CRC") })
    }

    @Test("Functions a platform has no place for are unsupported")
    func unsupported() throws {
        let radio = try Self.build(Self.photon, .radio, 0, version: 1, start: 0x1000)
        if case .unsupportedFunction = Compatibility.check(radio, on: Self.photon, installed: []).primary {} else {
            Issue.record("a radio stack on a Photon was accepted")
        }
        // NCP: the Boron has no updatable coprocessor; the Argon's must match the MCU target.
        let ncp = try Self.build(Self.argon, .ncp, 0, version: 5)
        #expect(Compatibility.check(ncp, on: Self.argon, installed: []).isCompatible)
        let foreignNCP = try Self.build(Self.argon, .ncp, 0, version: 5, mcuTarget: 0x33)
        if case .unsupportedFunction = Compatibility.check(foreignNCP, on: Self.argon, installed: []).primary {} else {
            Issue.record("an NCP image for another coprocessor was accepted")
        }
    }

    @Test("Real binaries: chains and guards", .enabled(if: Fixtures.enabled))
    func realBinaries() throws {
        let tracker = SampleModules.platform("tracker")
        let p2 = SampleModules.platform("p2")
        func real(_ name: String) throws -> FirmwareModule { try Self.module(Fixtures.bytes(of: name)) }

        #expect(Compatibility.check(try real("043_user-part.bin"), on: Self.photon, installed: Self.photonModules).isCompatible)
        let trackerInstalled = [
            InstalledModule(function: .bootloader, index: 0, version: 1006),
            InstalledModule(function: .ncp, index: 0, version: 7),
            InstalledModule(function: .system, index: 1, version: 5500),
        ]
        #expect(Compatibility.check(try real("tracker-system-part1@3.1.0-alpha.2.bin"), on: tracker, installed: trackerInstalled).isCompatible)
        var oldBootloader = trackerInstalled
        oldBootloader[0].version = 1005
        #expect(Compatibility.check(try real("tracker-system-part1@3.1.0-alpha.2.bin"), on: tracker, installed: oldBootloader).primary
                == .unmetDependency(required: .init(function: .bootloader, index: 0, version: 1006), installedVersion: 1005))
        #expect(Compatibility.check(try real("tracker-max-size@5.5.0-rc.1.bin"), on: tracker, installed: trackerInstalled).isCompatible)
        #expect(Compatibility.check(try real("p2-tinker@5.3.1.bin"), on: tracker, installed: trackerInstalled).primary
                == .wrongPlatform(image: p2.id, board: tracker.id))
        #expect(Compatibility.check(try real("p2-tinker@5.3.1.bin"), on: p2,
                                    installed: [InstalledModule(function: .system, index: 1, version: 5301)]).isCompatible)
        if case .corrupt = Compatibility.check(try real("RC4_bootloader_pad_BM-09.bin"), on: Self.photon, installed: []).primary {} else {
            Issue.record("a padded bootloader with a bad CRC was not refused as corrupt")
        }
    }
}
