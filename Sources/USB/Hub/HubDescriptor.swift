/// What a hub says of itself in its class descriptor (USB 2.0 §11.23.2.1, USB 3.x §10.15.2.1):
/// how many downstream ports it has and how it switches their power.
public struct HubDescriptor: Hashable, Sendable {
    /// wHubCharacteristics bits 1:0, the logical power switching mode.
    public enum PowerSwitching: String, Hashable, Sendable {
        /// All ports at once: cutting one board cuts every board on the hub.
        case ganged
        /// Each port on its own: what a power cut of one board needs.
        case perPort = "per-port"
        /// Ports always powered.
        case none
    }

    public var portCount: Int
    public var powerSwitching: PowerSwitching
    public var superSpeed: Bool

    /// A USB 2 hub's descriptor has type 0x29, a SuperSpeed hub's 0x2A.
    public static func descriptorType(superSpeed: Bool) -> UInt8 { superSpeed ? 0x2A : 0x29 }

    public init(portCount: Int, powerSwitching: PowerSwitching, superSpeed: Bool) {
        self.portCount = portCount
        self.powerSwitching = powerSwitching
        self.superSpeed = superSpeed
    }

    /// Parses the descriptor's fixed part; nil when it is too short or of another type.
    public init?(bytes: [UInt8], superSpeed: Bool) {
        guard bytes.count >= 5, bytes[1] == Self.descriptorType(superSpeed: superSpeed) else { return nil }
        portCount = Int(bytes[2])
        switch bytes[3] & 0x03 {
        case 0x00:
            // With one port, ganged and per-port switching are the same thing (uhubctl agrees).
            powerSwitching = portCount == 1 ? .perPort : .ganged
        case 0x01: powerSwitching = .perPort
        default: powerSwitching = .none
        }
        self.superSpeed = superSpeed
    }
}

/// wPortStatus from GetPortStatus. The power bit moved between USB 2 (bit 8) and
/// SuperSpeed hubs (bit 9).
public struct HubPortStatus: Hashable, Sendable, CustomStringConvertible {
    public var raw: UInt16
    public var superSpeed: Bool

    public init(raw: UInt16, superSpeed: Bool) {
        self.raw = raw
        self.superSpeed = superSpeed
    }

    public var isPowered: Bool { raw & (superSpeed ? 0x0200 : 0x0100) != 0 }
    /// A device is attached to the port.
    public var isConnected: Bool { raw & 0x0001 != 0 }

    public var description: String {
        "\(isPowered ? "power" : "off")\(isConnected ? " connect" : "") (0x\(String(raw, radix: 16)))"
    }
}
