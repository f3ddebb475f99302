/// A hub on the host, with what its descriptors say about switching port power.
public struct USBHub: Hashable, Sendable, CustomStringConvertible {
    public var device: USBDeviceDescription
    public var descriptor: HubDescriptor
    /// Shared by a USB 3 hub's SuperSpeed half and its USB 2 half.
    public var containerID: String?

    public var location: String { device.location }
    public var superSpeed: Bool { descriptor.superSpeed }

    public init(device: USBDeviceDescription, descriptor: HubDescriptor, containerID: String?) {
        self.device = device
        self.descriptor = descriptor
        self.containerID = containerID
    }

    /// Every hub on the host that answers its class descriptor. Root hubs are left out: their
    /// ports are the host controller's, which Linux does not let a program switch.
    public static func all() async throws -> [USBHub] {
        var hubs: [USBHub] = []
        for device in try USBDiscovery.devices() where device.deviceClass == 9 && !device.portNumbers.isEmpty {
            // A hub that cannot be opened or read is not one this bench can switch.
            guard let connection = try? USBDeviceConnection(device) else { continue }
            let superSpeed = device.usbVersion >= 0x0300
            guard let descriptor = try? await connection.hubDescriptor(superSpeed: superSpeed) else { continue }
            let container = try? await connection.containerID()
            hubs.append(USBHub(device: device, descriptor: descriptor, containerID: container ?? nil))
        }
        return hubs
    }

    /// The other half of the same physical hub: opposite speed, same Container ID and port
    /// count, preferring the same port path (Linux puts the halves on sibling buses).
    public func twin(among hubs: [USBHub]) -> USBHub? {
        guard let containerID else { return nil }
        let candidates = hubs.filter {
            $0.superSpeed != superSpeed && $0.containerID == containerID && $0.descriptor.portCount == descriptor.portCount
        }
        return candidates.first { $0.device.portNumbers == device.portNumbers } ?? candidates.first
    }

    public var description: String {
        "hub \(location) (\(String(format: "%04x:%04x", device.vendorID, device.productID)), USB \(superSpeed ? "3" : "2"), "
            + "\(descriptor.portCount) ports, \(descriptor.powerSwitching.rawValue) power switching)"
    }
}
