import Firmware

/// A network interface as Device OS lists it to NETWORK_GET_INTERFACE_LIST: lwIP's name, two
/// letters and a number, with index = number + 1 (ifapi.cpp:786-809, control/network.cpp:46-103).
public struct NetworkInterface: Hashable, Sendable {
    public var index: UInt32
    public var name: String
    public var type: Kind

    /// InterfaceType in control/network.proto.
    public enum Kind: UInt32, Sendable {
        case loopback = 1
        case thread = 2
        case ethernet = 4
        case wifi = 8
        case ppp = 16
    }

    public init(_ name: String, _ type: Kind) {
        self.name = name
        self.type = type
        index = UInt32(name.dropFirst(2)).map { $0 + 1 } ?? 0
    }

    /// The interfaces a Device OS 5.x board brings up, the Ethernet FeatherWing off; nil where
    /// Device OS has no interface API (Gen 2). hal/src/<platform>/network/network.cpp reserves th1
    /// and en2, so the cellular modem is pp3 and Wi-Fi wl3, or wl4 beside a modem.
    public static func deviceOS(on platform: Platform) -> [NetworkInterface]? {
        guard platform.generation == .gen3 else { return nil }
        let loopback = NetworkInterface("lo0", .loopback)
        let modem = platform.cellular ? [NetworkInterface("pp3", .ppp)] : []
        switch platform.buildName {
        case "argon", "asom", "p2": return [loopback, NetworkInterface("wl3", .wifi)]
        // Beside a modem, Wi-Fi is the next interface, wl4.
        case "tracker", "trackerm", "msom": return [loopback] + modem + [NetworkInterface("wl4", .wifi)]
        // Xenon and X SoM (mesh only) left Device OS at 2.0, with their Thread interface: inferred.
        default: return [loopback] + modem
        }
    }

    /// Whether Device OS has a cellular modem to ask for its ICCID (HAL_PLATFORM_NCP &&
    /// HAL_PLATFORM_CELLULAR, system_control_internal.cpp@v5.8.0:361-382).
    public static func hasCellularModem(_ platform: Platform) -> Bool {
        deviceOS(on: platform)?.contains { $0.type == .ppp } ?? false
    }
}
