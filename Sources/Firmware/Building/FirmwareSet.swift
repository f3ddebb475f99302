import Foundation

/// The firmware a board is provisioned with, built with `ModuleBuilder`:
/// bootloader(s), system parts, a known-good application, and on Gen 2 a factory app.
public struct FirmwareSet: Sendable {
    public var platform: Platform
    /// Installed in this order.
    public var modules: [[UInt8]]
    public var application: [UInt8]
    /// Kept in the platform's factory-image area (Gen 2: restored when the app header is gone).
    public var factoryApplication: [UInt8]?
    public var systemVersion: UInt16
    /// The release the board runs and reports.
    public var deviceOS: DeviceOSVersion

    /// Module versions the emulated Device OS carries (emulated values, on the scales of §3.8:
    /// 2400 is the 5.6.0 bootloader, 5800 a 5.8.0 system part).
    public static func versions(for platform: Platform) -> (bootloader: UInt16, system: UInt16, deviceOS: DeviceOSVersion) {
        platform.generation == .gen2 ? (1001, 1512, DeviceOSVersion(1, 5, 2)) : (2400, 5800, DeviceOSVersion(5, 8, 0))
    }

    /// A user part for `platform` that needs `systemVersion`; `seed` makes its contents (and so
    /// its CRC) differ from other apps of the same size.
    public static func application(for platform: Platform, size: Int, seed: UInt64, systemVersion: UInt16? = nil,
                                   product: ModuleBuilder.Product? = nil) throws -> [UInt8] {
        let system = systemVersion ?? versions(for: platform).system
        let index: UInt8 = platform.slot(for: .user, index: 2) != nil ? 2 : 1
        let systemIndex: UInt8 = platform.generation == .gen2 ? UInt8(platform.slots.filter { $0.function == .system }.count) : 1
        let overhead = ModulePrefix.size + 62 + 4
        return try ModuleBuilder(
            platform: platform, function: .user, index: index, version: 6,
            dependencies: [ModuleDependency(function: .system, index: systemIndex, version: system)],
            product: product,
            payload: filler(max(size - overhead, 16), seed: seed)
        ).build()
    }

    /// The standard set; `systemVersion` raises the system parts so that an app needing a
    /// newer Device OS still runs. `deviceOS` makes it a set of that release: the board reports
    /// it, and its system parts carry its module version (`DeviceOSVersion.systemModuleVersion`).
    public static func standard(for platform: Platform, applicationSize: Int = 16 << 10, systemVersion: UInt16? = nil,
                                deviceOS: DeviceOSVersion? = nil) throws -> FirmwareSet {
        var defaults = versions(for: platform)
        if let deviceOS {
            guard let module = deviceOS.systemModuleVersion else { throw FirmwareSetError.unrepresentable(deviceOS) }
            defaults.system = module
            defaults.deviceOS = deviceOS
        }
        let system = max(systemVersion ?? 0, defaults.system)
        var modules: [[UInt8]] = []
        switch platform.mcu {
        case .stm32f2xx:
            modules.append(try ModuleBuilder(platform: platform, function: .bootloader, index: 0, version: defaults.bootloader,
                                             payload: filler(8 << 10, seed: 1)).build())
            let parts = platform.slots.filter { $0.function == .system }.map(\.index).sorted()
            for part in parts {
                // Gen 2 system part N needs part N−1 (§4).
                let needs = part > 1 ? [ModuleDependency(function: .system, index: part - 1, version: system)] : []
                modules.append(try ModuleBuilder(platform: platform, function: .system, index: part, version: system,
                                                 dependencies: needs, payload: filler(24 << 10, seed: 10 + UInt64(part))).build())
            }
        case .nrf52840:
            modules.append(try ModuleBuilder(platform: platform, function: .bootloader, index: 0, version: defaults.bootloader,
                                             payload: filler(16 << 10, seed: 1)).build())
            modules.append(try ModuleBuilder(
                platform: platform, function: .system, index: 1, version: system,
                dependencies: [ModuleDependency(function: .bootloader, index: 0, version: defaults.bootloader)],
                payload: filler(32 << 10, seed: 11), startAddress: 0x0003_0000).build())
        case .rtl872x:
            // KM0 part 1 (bootloader 2), which the KM4 bootloader depends on (§4).
            modules.append(try ModuleBuilder(platform: platform, function: .bootloader, index: 2, version: 7,
                                             payload: filler(8 << 10, seed: 2)).build())
            modules.append(try ModuleBuilder(
                platform: platform, function: .bootloader, index: 0, version: defaults.bootloader,
                dependencies: [ModuleDependency(function: .bootloader, index: 2, version: 7)],
                payload: filler(16 << 10, seed: 1)).build())
            modules.append(try ModuleBuilder(
                platform: platform, function: .system, index: 1, version: system,
                dependencies: [ModuleDependency(function: .bootloader, index: 0, version: defaults.bootloader)],
                payload: filler(32 << 10, seed: 11)).build())
        }
        let app = try application(for: platform, size: applicationSize, seed: 100, systemVersion: system)
        var factory: [UInt8]?
        if platform.generation == .gen2 {
            factory = try application(for: platform, size: 8 << 10, seed: 200, systemVersion: system)
        }
        return FirmwareSet(platform: platform, modules: modules, application: app, factoryApplication: factory,
                           systemVersion: system, deviceOS: defaults.deviceOS)
    }

    public static func filler(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }
}

public enum FirmwareSetError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A release whose module version does not fit the scale the emulated parts are numbered on.
    case unrepresentable(DeviceOSVersion)

    public var description: String {
        switch self {
        case .unrepresentable(let version):
            "Device OS \(version) has no system module version on the emulator's scale (major, minor and patch as the digits of one 16-bit number)"
        }
    }
}
