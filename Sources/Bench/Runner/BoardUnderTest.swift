import Boards
import Firmware
import Foundation
import ScenarioAPI

/// A board as the runner holds it: the board, its firmware by role, and what it takes to
/// bring it back to a clean state.
public struct BoardUnderTest: Sendable {
    public var board: any Board
    public var firmware: FirmwareLibrary
    public var emulated: Bool
    /// Modules that make the board clean: the system firmware and the known-good app.
    public var cleanImages: [FirmwareImage]

    public init(board: any Board, firmware: FirmwareLibrary, emulated: Bool, cleanImages: [FirmwareImage]) {
        self.board = board
        self.firmware = firmware
        self.emulated = emulated
        self.cleanImages = cleanImages
    }

    /// An emulated board for an inventory entry.
    public static func emulated(_ entry: Inventory.Entry, serial: Int, consoleDirectory: URL? = nil) throws -> BoardUnderTest {
        var library = try ProvisionedTemplates.shared.library(for: entry.platform, deviceOS: entry.deviceOS)
        if let folder = entry.firmwareFolder {
            library = try FirmwareLibrary.load(from: folder, platform: entry.platform, fallback: library)
        }
        // With a firmware folder the board starts on the folder's known-good app, as a lab's board would.
        let board = try EmulatedBoard(name: entry.name, platform: entry.platform, deviceOS: entry.deviceOS, defects: entry.defects, serial: serial,
                                           application: entry.firmwareFolder == nil ? nil : library.image(.knownGoodApp).bytes,
                                           serialTransport: entry.serial, consoleDirectory: consoleDirectory)
        return BoardUnderTest(board: board, firmware: library, emulated: true,
                          cleanImages: board.systemImages + [library.image(.knownGoodApp)])
    }

    /// A board on USB for an inventory entry. Its images come from the entry's firmware
    /// folder; roles the folder lacks are built for the platform.
    public static func usb(_ entry: Inventory.Entry, consoleDirectory: URL? = nil, cloud: CloudSettings = CloudSettings()) throws -> BoardUnderTest {
        let built = try ProvisionedTemplates.shared.library(for: entry.platform)
        let library = try entry.firmwareFolder.map { try FirmwareLibrary.load(from: $0, platform: entry.platform, fallback: built) } ?? built
        if let consoleDirectory { try FileManager.default.createDirectory(at: consoleDirectory, withIntermediateDirectories: true) }
        let board = USBBoard(name: entry.name, platform: entry.platform, deviceID: entry.deviceID ?? "",
                             consoleLog: consoleDirectory?.appendingPathComponent("\(entry.name).log"),
                             powerSwitch: entry.powerSwitch,
                             powerOffTime: entry.powerOffTime, applyWindow: entry.applyWindow,
                             cloud: cloud.flash())
        return BoardUnderTest(board: board, firmware: library, emulated: false, cleanImages: [library.image(.knownGoodApp)])
    }

    /// The board an inventory entry names, emulated or on USB.
    /// `consoleDirectory` receives the console logs of boards captured from a serial port.
    public static func make(_ entry: Inventory.Entry, serial: Int, consoleDirectory: URL? = nil, cloud: CloudSettings = CloudSettings()) throws -> BoardUnderTest {
        entry.emulated ? try emulated(entry, serial: serial, consoleDirectory: consoleDirectory)
            : try usb(entry, consoleDirectory: consoleDirectory, cloud: cloud)
    }

    /// Running Device OS with the known-good app and every module valid.
    public func isClean() async -> Bool {
        guard await board.mode() == .running, let table = board.facet((any ModuleTable).self),
              let app = try? await table.runningApp(), app.fingerprint == firmware.image(.knownGoodApp).fingerprint,
              let modules = try? await table.modules(), modules.allSatisfy(\.valid)
        else { return false }
        return true
    }
}
