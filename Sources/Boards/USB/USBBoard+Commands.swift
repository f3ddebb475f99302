import ControlRequests
import Firmware
import Foundation
import ScenarioAPI
import USB

// What a person at the bench does with a board on USB, one command at a time: list, find,
// check an image against it, flash it, read its module table.

extension USBBoard {
    /// Every Particle board on the host; for the ones running Device OS, its version and app.
    public static func listAll() async throws -> [USBBoardListing] {
        try await ParticleDevice.all().asyncMap { device in
            var listing = USBBoardListing(deviceID: device.deviceID, platform: device.platform?.buildName, mode: device.mode.rawValue,
                                          vendorID: device.usb.vendorID, productID: device.usb.productID,
                                          bus: device.usb.bus, address: device.usb.address)
            guard device.mode == .normal, device.deviceID != nil, let connection = try? USBDeviceConnection(device.usb) else { return listing }
            let client = ControlRequestClient(pipe: connection, timeout: .seconds(5))
            listing.deviceOS = (try? await client.systemVersion()) ?? "?"
            listing.app = (try? await client.moduleInfo())?.modules.first { $0.type == .userPartModule }
                .map { "user \($0.index) v\($0.version), \([UInt8]($0.hash).hexString.prefix(12))" } ?? "none"
            return listing
        }
    }

    /// The board with this device id, when it is on USB and its platform is known.
    public static func find(deviceID: String) -> USBBoard? {
        guard let device = try? ParticleDevice.find(deviceID: deviceID), let platform = device.platform else { return nil }
        return USBBoard(name: deviceID, platform: platform, deviceID: deviceID)
    }

    /// "on USB (normal)", "on USB (dfu)" or "not on USB".
    public static func presence(deviceID: String) -> String {
        (try? ParticleDevice.find(deviceID: deviceID)).flatMap { $0 }.map { "on USB (\($0.mode))" } ?? "not on USB"
    }

    /// Whether it is on USB in DFU mode, where Device OS is not running to answer.
    public var isInDFU: Bool { device()?.mode == .dfu }

    /// Why it would refuse `module`: against its module table while Device OS runs; in DFU,
    /// what the platform decides (the host guard).
    public func guardProblems(for module: FirmwareModule) async -> [Incompatibility] {
        let installed = isInDFU ? nil : (try? await modules()).flatMap { $0.isEmpty ? nil : $0.map(\.installed) }
        return HostGuard.problems(module, on: platform, installed: installed)
    }

    /// Writes `image` by DFU (entering DFU first), reads it back when `verify`, leaves DFU and
    /// waits for it to come back; `progress` gets bytes written and total.
    public func write(_ image: FirmwareImage, verify: Bool, progress: @escaping @Sendable (Int, Int) -> Void) async throws {
        try await attempting(name, "flash \(image) by DFU") {
            try await dfuWrite(image, verify: verify) { progress($0.bytesWritten, $0.totalBytes) }
        }
        _ = try? await waitUntilUp(timeout: .seconds(10))
    }

    /// The Device OS version it reports.
    public func deviceOSVersion() async throws -> String {
        try await attempting(name, "read the Device OS version") { try await control().systemVersion() }
    }

    /// Its module table with the checks Device OS ran on each module.
    public func moduleTableEntries() async throws -> [ModuleTableEntry] {
        let reply = try await attempting(name, "read the module table") { try await control().moduleInfo() }
        if reply.modules.isEmpty { return reply.modulesDeprecated.map(ModuleTableEntry.init(deprecated:)) }
        let flags = [(2, "Integrity"), (8, "Address Range"), (16, "Platform"), (4, "Dependencies")]
        return reply.modules.map { module in
            ModuleTableEntry(
                function: ModuleFunction(rawValue: UInt8(truncatingIfNeeded: module.type.rawValue)),
                index: UInt8(truncatingIfNeeded: module.index), version: UInt16(truncatingIfNeeded: module.version),
                size: Int(module.size), maxSize: Int(module.maxSize),
                checks: flags.map { flag, name in
                    .init(name: name, checked: module.checkedFlags & UInt32(flag) != 0, passed: module.passedFlags & UInt32(flag) != 0)
                },
                valid: module.checkedFlags == module.passedFlags, fingerprint: [UInt8](module.hash).hexString,
                dependencies: module.dependencies.map {
                    ModuleDependency(function: ModuleFunction(rawValue: UInt8(truncatingIfNeeded: $0.type.rawValue)),
                                     index: UInt8(truncatingIfNeeded: $0.index), version: UInt16(truncatingIfNeeded: $0.version))
                })
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
