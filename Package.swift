// swift-tools-version: 6.1
import PackageDescription

// One module per layer of the design (../shared/DESIGN.md, "Package layout").
// Lower modules never import higher ones.
// Shared state sits behind NIOLockedValueBox, a pthread mutex, not Synchronization.Mutex: Mutex
// waits on a bare futex that Thread Sanitizer cannot see, so every access under it is reported
// as a race (two threads adding 100,000 each under Mutex get 200,000 and a TSan report).
let locks: Target.Dependency = .product(name: "NIOConcurrencyHelpers", package: "swift-nio")

let package = Package(
    name: "otabench",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "otabench", targets: ["otabench"]),
        .library(name: "Bench", targets: ["Bench"]),
        .library(name: "Firmware", targets: ["Firmware"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The device channel: TLS with mutual authentication, certificates made by the bench.
        .package(url: "https://github.com/apple/swift-nio", from: "2.90.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.36.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
    ],
    targets: [
        // C system libraries, each behind its own small target.
        .systemLibrary(
            name: "CLibUSB",
            pkgConfig: "libusb-1.0",
            providers: [.apt(["libusb-1.0-0-dev"])]
        ),
        .systemLibrary(
            name: "CUDev",
            pkgConfig: "libudev",
            providers: [.apt(["libudev-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CUMockdev",
            pkgConfig: "umockdev-1.0",
            providers: [.apt(["libumockdev-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // Layers, bottom up.
        .target(name: "Firmware", dependencies: ["CCrypto", "CZlib"]),
        .target(name: "Links", dependencies: [locks]),
        .target(name: "DFU", dependencies: ["Links", "Firmware"]),
        .target(
            name: "ControlRequests",
            dependencies: ["Links", "Firmware", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            // The .proto sources; their generated Swift is committed under Generated/.
            exclude: ["Proto"]
        ),
        // termios2 for any bit rate: a C file, since <asm/termbits.h> clashes with <termios.h>.
        .target(name: "CSerialPort"),
        .target(name: "Serial", dependencies: ["Links", "Firmware", "CSerialPort", locks]),
        .target(name: "USB", dependencies: ["Links", "CLibUSB", "CUDev"]),
        .target(
            name: "Power",
            dependencies: [
                locks, "Links", "USB",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The cloud path: OTA protocol v3 (the cloud's sending half), Particle's REST API client,
        // and the local device cloud that answers it.
        .target(
            name: "CloudOTA",
            dependencies: [
                locks, "Links", "Firmware",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Cloud",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "LocalCloud",
            dependencies: [
                locks, "Cloud", "CloudOTA", "Firmware", "Links",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .target(
            name: "Emulator",
            dependencies: [
                locks, "Firmware", "Links", "DFU", "ControlRequests", "Serial", "CloudOTA",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Emulated boards served through the operating system: umockdev USB devices and hubs,
        // pseudo-terminals.
        .target(name: "EmulatorServers", dependencies: [locks, "Emulator", "Firmware", "Links", "Serial", "CUMockdev"]),
        // What a scenario sees: the scenario, its context, the board's facets, images by role,
        // cut points, expectations and typed errors. Nothing of how a board is driven.
        .target(name: "ScenarioAPI", dependencies: ["Firmware", "Links"]),
        // The facets implemented: boards on USB, serial and power, and emulated boards.
        .target(
            name: "Boards",
            dependencies: [
                locks, "ScenarioAPI", "Firmware", "Links", "DFU", "ControlRequests", "Serial", "USB", "Power", "Emulator", "EmulatorServers",
                "CloudOTA", "Cloud", "LocalCloud",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Bench",
            dependencies: [
                locks, "ScenarioAPI", "Boards", "Scenarios", "Firmware", "Links", "CCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(name: "Scenarios", dependencies: ["ScenarioAPI"], path: "Scenarios"),
        .executableTarget(
            name: "otabench",
            dependencies: [
                "Bench", "Firmware",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "otabench-benchmark",
            dependencies: [
                "Firmware", "Emulator", "EmulatorServers", "Bench", "Boards", "Scenarios", "USB", "DFU", "Serial", "CSerialPort", "Cloud", "CloudOTA", "LocalCloud",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Coverage-guided fuzzing of everything that reads outside bytes: the targets, and the
        // libFuzzer entry point that Scripts/fuzz builds with --sanitize=fuzzer.
        .target(
            name: "FuzzTargets",
            dependencies: [
                locks, "Firmware", "Links", "Serial", "DFU", "ControlRequests", "CloudOTA", "Cloud", "LocalCloud", "Bench", "Boards", "Power",
                "Emulator",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "otabench-fuzz", dependencies: ["FuzzTargets"]),

        // Tests.
        .target(name: "TestSupport", dependencies: ["Firmware", "Links", "ScenarioAPI", "CloudOTA", "LocalCloud"], path: "Tests/TestSupport",
                // The scripts that drive Particle's own JavaScript libraries (ParticlePeers).
                exclude: ["Peers"]),
        .testTarget(name: "FirmwareTests", dependencies: ["Firmware", "TestSupport", locks]),
        .testTarget(name: "USBTests", dependencies: ["USB", "CUMockdev", "Emulator", "EmulatorServers", "DFU", "ControlRequests", "Firmware", "Links",
                                                    "TestSupport", "Bench", "Boards", "ScenarioAPI", "Scenarios", "Power", "Cloud", "CloudOTA", "LocalCloud", "Serial", locks]),
        .testTarget(name: "DFUTests", dependencies: ["DFU", "Emulator", "Firmware", "Links", locks]),
        .testTarget(name: "ControlRequestsTests", dependencies: ["ControlRequests", "Emulator", "Firmware"]),
        .testTarget(name: "ScenarioAPITests", dependencies: ["ScenarioAPI", "Firmware", "TestSupport"]),
        .testTarget(name: "CloudOTATests", dependencies: ["CloudOTA", "Emulator", "Firmware", "Links", "TestSupport", locks]),
        .testTarget(
            name: "LocalCloudTests",
            dependencies: [
                "LocalCloud", "Cloud", "CloudOTA", "Links", "TestSupport", locks,
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "EmulatorServersTests", dependencies: ["EmulatorServers", "Emulator", "Firmware", "Links", "Serial", "TestSupport",
                                                                  locks]),
        .testTarget(name: "PowerTests", dependencies: ["Power", "Links", "TestSupport"]),
        .testTarget(name: "LinksTests", dependencies: ["Links", locks]),
        .testTarget(
            name: "CloudTests",
            dependencies: [
                locks, "Cloud", "CloudOTA", "LocalCloud", "Firmware", "Emulator", "Links", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "SerialTests", dependencies: ["Serial", "Links", "Firmware", "TestSupport"]),
        .testTarget(
            name: "BenchTests",
            dependencies: [locks, "Bench", "Boards", "Scenarios", "Emulator", "Firmware", "Serial", "Power", "TestSupport", "Cloud", "LocalCloud", "ControlRequests", "DFU", "Links",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "BoardsTests",
            dependencies: [locks, "Boards", "ScenarioAPI", "Emulator", "Firmware", "Links", "Power", "Serial", "Cloud", "LocalCloud", "TestSupport"]
        ),
        .testTarget(
            name: "EmulatorTests",
            dependencies: [
                "Emulator", "EmulatorServers", "Firmware", "DFU", "Links", "ControlRequests", "Serial", "TestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Firmware", "Emulator", "EmulatorServers", "Serial", "otabench", locks]),
        // Replays each fuzz target's seed corpus and recorded crashes (Corpus/, Crashes/).
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"], exclude: ["Corpus", "Crashes", "LeakSuppressions.txt"]),
    ],
    swiftLanguageModes: [.v6]
)
