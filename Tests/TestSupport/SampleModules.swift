import Firmware

/// Modules built with `ModuleBuilder` for tests that must not depend on the fixtures.
public enum SampleModules {
    public static func payload(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    public static func platform(_ name: String) -> Platform {
        guard let platform = Platform(buildName: name) else { fatalError("no platform \(name) in the catalog") }
        return platform
    }

    /// A user part for `platform` needing its system part at `systemVersion`.
    public static func userApp(
        for platform: Platform, systemVersion: UInt16, payloadSize: Int = 2048, seed: UInt64 = 1
    ) throws -> [UInt8] {
        let (index, systemIndex): (UInt8, UInt8) = switch platform.generation {
        case .gen2: (1, 2)
        case .gen3: (platform.slot(for: .user, index: 2) != nil ? 2 : 1, 1)
        }
        return try ModuleBuilder(
            platform: platform, function: .user, index: index, version: 6,
            dependencies: [ModuleDependency(function: .system, index: systemIndex, version: systemVersion)],
            payload: payload(payloadSize, seed: seed)
        ).build()
    }
}
