import Emulator
import EmulatorServers
import Firmware
import Foundation

/// One emulated board on a pseudo-terminal carrying its console and listening mode, with a link
/// (named like /dev/serial/by-id) that follows its current terminal across resets.
public final class EmulatedSerialBoard: Sendable {
    private let server: PseudoTerminalBoardServer
    public let deviceID: String
    public let start: ServedStart

    /// The `serial`th board of a platform (1-based; it picks the device id); its link goes in
    /// `linkDirectory`, named after `alias` when given.
    public init(platform: Platform, deviceOS: DeviceOSVersion? = nil, serial: Int, defects: Set<Defect>, start: ServedStart,
                linkDirectory: URL, alias: String?) async throws {
        let model = try BoardModel.served(platform: platform, deviceOS: deviceOS, serial: serial, defects: defects, start: start)
        deviceID = model.deviceID
        self.start = start
        server = try await PseudoTerminalBoardServer(board: BoardEmulator(model), linkDirectory: linkDirectory, alias: alias)
    }

    public var link: URL { server.link }

    /// The terminal the board is on once it is up; a board in DFU mode has none.
    public func waitForPort() async throws -> String? {
        start == .dfu ? nil : try await server.waitForPort()
    }

    public func stop() async { await server.stop() }
}
