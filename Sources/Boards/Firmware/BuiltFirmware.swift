import Emulator
import Firmware
import ScenarioAPI

extension FirmwareLibrary {
    /// The images an emulated board of `platform` is tested with. The known-good app is the
    /// one the emulator provisions; the others are built to differ from it.
    public static func built(for platform: Platform, standard: FirmwareSet) throws -> FirmwareLibrary {
        var images: [FirmwareRole: FirmwareImage] = [:]
        func add(_ role: FirmwareRole, _ bytes: [UInt8]) {
            images[role] = FirmwareImage(bytes: bytes, label: "\(role.rawValue) for \(platform.buildName)", role: role)
        }
        add(.knownGoodApp, standard.application)
        add(.nextApp, try FirmwareSet.application(for: platform, size: 24 << 10, seed: 1_001, systemVersion: standard.systemVersion))
        let other = Platform.catalog.first { $0.id != platform.id && $0.generation == platform.generation } ?? Platform.catalog.first { $0.id != platform.id }!
        add(.otherPlatformApp, try FirmwareSet.application(for: other, size: 16 << 10, seed: 1_002))
        add(.newerDeviceOSApp, try FirmwareSet.application(for: platform, size: 16 << 10, seed: 1_003,
                                                            systemVersion: standard.systemVersion + 100))
        var corrupt = try FirmwareSet.application(for: platform, size: 16 << 10, seed: 1_004, systemVersion: standard.systemVersion)
        corrupt[corrupt.count / 2] ^= 0x40
        add(.corruptApp, corrupt)
        add(.nextSystemPart, try nextSystemPart(platform: platform, standard: standard))
        return FirmwareLibrary(platform: platform, images: images)
    }

    /// A system part one version newer than the standard set's, with the same requirements.
    static func nextSystemPart(platform: Platform, standard: FirmwareSet) throws -> [UInt8] {
        let file = try standard.modules.map { try ModuleFile(bytes: $0) }
        let current = file.compactMap(\.modules.first).filter { $0.function == .system }.max { $0.index < $1.index }!
        let slot = platform.slot(for: .system, index: current.index)!
        return try ModuleBuilder(
            platform: platform, function: .system, index: current.index, version: standard.systemVersion + 100,
            dependencies: current.prefix.dependencies, payload: FirmwareSet.filler(24 << 10, seed: 2_000),
            startAddress: slot.placement == .anywhere ? current.startAddress : nil
        ).build()
    }
}
