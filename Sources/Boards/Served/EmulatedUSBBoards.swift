import Emulator
import EmulatorServers
import Firmware
import Foundation

/// Emulated boards served as USB devices through umockdev, for dfu-util, particle-usb and
/// people with no hardware; optionally behind an emulated USB 3 hub with per-port power.
public final class EmulatedUSBBoards: Sendable {
    /// What a client sees of one served board.
    public struct Served: Sendable {
        public var deviceID: String
        public var vendorID: UInt16
        public var productID: UInt16
        /// The hub port it is plugged into, when there is a hub.
        public var hubPort: Int?
    }

    private let server: UmockdevBoardServer
    private let hubIndex: Int?
    public let hubPorts: Int

    /// - Parameter hubPorts: plug the boards into a hub with this many ports; nil for no hub.
    public init(hubPorts: Int? = nil) throws {
        let server = UmockdevBoardServer()
        hubIndex = try hubPorts.map { try server.addUSB3Hub(ports: $0) }
        self.server = server
        self.hubPorts = hubPorts ?? 0
    }

    /// The hub's USB location (its USB 2 half), as uhubctl and inventories name it.
    public var hubLocation: String? { hubIndex.map { server.hubLocation($0) } }

    /// Serves the `serial`th board of a platform (1-based; it picks the device id), plugged into
    /// `hubPort` when there is a hub.
    public func serve(platform: Platform, deviceOS: DeviceOSVersion? = nil, serial: Int, defects: Set<Defect>, start: ServedStart,
                      hubPort: Int? = nil) throws -> Served {
        let model = try BoardModel.served(platform: platform, deviceOS: deviceOS, serial: serial, defects: defects, start: start)
        let port = hubIndex == nil ? nil : hubPort
        _ = try server.serve(model, hub: hubIndex, port: port)
        return Served(deviceID: model.deviceID, vendorID: platform.usb.vendorID, productID: model.mode.productID(platform) ?? 0, hubPort: port)
    }

    /// Makes sure this process runs under umockdev's preload, executing it again under it if
    /// not (and then not returning): without it other processes never hear the boards come and
    /// go. Call before anything else starts (threads, servers).
    public static func runUnderPreload() throws(UmockdevPreload.Failure) {
        try UmockdevPreload.ensureLoaded()
    }

    /// The environment a client process needs to see the boards (UMOCKDEV_DIR, LD_PRELOAD).
    public var clientEnvironment: [String: String] { server.clientEnvironment }
}
