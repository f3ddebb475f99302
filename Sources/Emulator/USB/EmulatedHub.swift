import Links

/// A USB hub as the emulator serves it: its descriptors, the power bit of each downstream port,
/// and the hub-class requests that read and switch them (USB 2.0 §11.24.2). The faults real
/// hubs have (uhubctl issues #319, #269, #540) are settings: ganged switching, no switching, a
/// SuperSpeed half whose USB 2 twin shares each port's VBUS, and a hub that answers
/// ClearPortFeature(PORT_POWER) without ever cutting the power.
public struct EmulatedHub: Hashable, Sendable {
    public enum PowerSwitching: Hashable, Sendable {
        case perPort
        case ganged
        case none
    }

    public var portCount: Int
    public var powerSwitching: PowerSwitching
    public var superSpeed: Bool
    /// The BOS Container ID both halves of a USB 3 hub carry; nil for a plain USB 2 hub.
    public var containerID: [UInt8]?
    /// Reports a port off after ClearPortFeature(PORT_POWER) but keeps its VBUS on.
    public var ignoresPowerOff: Bool
    public var vendorID: UInt16
    public var productID: UInt16
    /// The power bit of each port, as the hub reports it (index 0 is port 1).
    public private(set) var portPower: [Bool]

    public init(portCount: Int = 4, powerSwitching: PowerSwitching = .perPort, superSpeed: Bool = false,
                containerID: [UInt8]? = nil, ignoresPowerOff: Bool = false) {
        self.portCount = portCount
        self.powerSwitching = powerSwitching
        self.superSpeed = superSpeed
        self.containerID = containerID
        self.ignoresPowerOff = ignoresPowerOff
        // VIA Labs VL817's two halves: any ids would do, a hub's are what tools print.
        vendorID = 0x2109
        productID = superSpeed ? 0x0817 : 0x2817
        portPower = Array(repeating: true, count: portCount)
    }

    /// Whether the port's VBUS is on as far as this half decides it. Ganged ports stay powered
    /// while any port of the gang is; a hub without switching never cuts.
    public func suppliesPower(_ port: Int) -> Bool {
        guard (1...portCount).contains(port) else { return false }
        if ignoresPowerOff { return true }
        switch powerSwitching {
        case .perPort: return portPower[port - 1]
        case .ganged: return portPower.contains(true)
        case .none: return true
        }
    }

    /// The device and configuration descriptors, as sysfs holds them.
    public var descriptors: [UInt8] {
        let bcd: UInt16 = superSpeed ? 0x0300 : 0x0210
        let device: [UInt8] = [18, 1, UInt8(bcd & 0xFF), UInt8(bcd >> 8), 9, 0, superSpeed ? 3 : 1, superSpeed ? 9 : 64,
                               UInt8(vendorID & 0xFF), UInt8(vendorID >> 8), UInt8(productID & 0xFF), UInt8(productID >> 8),
                               0x00, 0x01, 0, 0, 0, 1]
        let interface: [UInt8] = [9, 4, 0, 0, 1, 9, 0, 0, 0]
        let endpoint: [UInt8] = [7, 5, 0x81, 3, 2, 0, superSpeed ? 8 : 12]
        let total = 9 + interface.count + endpoint.count
        let configuration: [UInt8] = [9, 2, UInt8(total), 0, 1, 1, 0, 0xE0, 0]
        return device + configuration + interface + endpoint
    }

    var hubDescriptor: [UInt8] {
        let characteristics: UInt8 = switch powerSwitching {
        case .ganged: 0x00
        case .perPort: 0x01
        case .none: 0x02
        }
        if superSpeed {
            // bLength 12, type 0x2A, ports, wHubCharacteristics, PwrOn2PwrGood (×2 ms), HubContrCurrent,
            // HubHdrDecLat, wHubDelay, DeviceRemovable.
            return [12, 0x2A, UInt8(portCount), characteristics | 0x08, 0, 50, 0, 0, 0, 0, 0, 0]
        }
        let maskBytes = (portCount + 1 + 7) / 8
        return [UInt8(7 + 2 * maskBytes), 0x29, UInt8(portCount), characteristics | 0x08, 0, 50, 100]
            + Array(repeating: 0, count: maskBytes) + Array(repeating: 0xFF, count: maskBytes)
    }

    var bosDescriptor: [UInt8]? {
        guard let containerID, containerID.count == 16 else { return nil }
        let capability: [UInt8] = [20, 0x10, 0x04, 0] + containerID
        let total = 5 + capability.count
        return [5, 0x0F, UInt8(total), 0, 1] + capability
    }

    /// Answers a control request; `connected(port)` says whether a device is attached and up.
    public mutating func control(_ setup: ControlSetup, connected: (Int) -> Bool) -> ControlReply {
        let port = Int(setup.index)
        switch (setup.requestType, setup.request) {
        case (0x80, 0x06) where setup.value == 0x0F00:  // GET_DESCRIPTOR(BOS)
            return bosDescriptor.map { .data(Array($0.prefix(Int(setup.length)))) } ?? .stall
        case (0xA0, 0x06):  // GetHubDescriptor
            guard setup.value >> 8 == (superSpeed ? 0x2A : 0x29) else { return .stall }
            return .data(Array(hubDescriptor.prefix(Int(setup.length))))
        case (0xA0, 0x00):  // GetHubStatus: local power good, no over-current
            return .data([0, 0, 0, 0])
        case (0xA3, 0x00):  // GetPortStatus
            guard (1...portCount).contains(port) else { return .stall }
            var status: UInt16 = portPower[port - 1] ? (superSpeed ? 0x0200 : 0x0100) : 0
            if connected(port) {
                status |= 0x0003  // connection, enable
            } else if superSpeed, portPower[port - 1] {
                status |= 0x00A0  // link state Rx.Detect
            }
            return .data(Array([UInt8(status & 0xFF), UInt8(status >> 8), 0, 0].prefix(Int(setup.length))))
        case (0x23, 0x03), (0x23, 0x01):  // SetPortFeature, ClearPortFeature
            guard (1...portCount).contains(port) else { return .stall }
            if setup.value == 8 {  // PORT_POWER
                portPower[port - 1] = setup.request == 0x03
            }
            return .data([])
        case (0x00, 0x09), (0x01, 0x0B), (0x20, _):  // SET_CONFIGURATION, SET_INTERFACE, other hub requests
            return .data([])
        default:
            return .stall
        }
    }
}
