import Testing
import USB

@Suite("Hub descriptors", .timeLimit(.minutes(10)))
struct HubDescriptorTests {
    @Test("wHubCharacteristics bits 1:0 give the switching mode; a one-port ganged hub switches its port alone", arguments: [
        ([9, 0x29, 4, 0x09, 0, 50, 100, 0, 0xFF] as [UInt8], false, HubDescriptor.PowerSwitching.perPort, 4),
        ([9, 0x29, 7, 0x00, 0, 50, 100, 0, 0xFF], false, .ganged, 7),
        ([9, 0x29, 1, 0x00, 0, 50, 100, 0, 0xFF], false, .perPort, 1),
        ([9, 0x29, 4, 0x02, 0, 50, 100, 0, 0xFF], false, .none, 4),
        ([9, 0x29, 4, 0x03, 0, 50, 100, 0, 0xFF], false, .none, 4),
        ([12, 0x2A, 4, 0x09, 0, 50, 0, 0, 0, 0, 0, 0], true, .perPort, 4),
    ])
    func switching(_ bytes: [UInt8], _ superSpeed: Bool, _ expected: HubDescriptor.PowerSwitching, _ ports: Int) throws {
        let descriptor = try #require(HubDescriptor(bytes: bytes, superSpeed: superSpeed))
        #expect(descriptor.powerSwitching == expected)
        #expect(descriptor.portCount == ports)
    }

    @Test("A descriptor of the other speed's type, or too short, is not taken")
    func refused() {
        #expect(HubDescriptor(bytes: [12, 0x2A, 4, 0x09, 0, 50, 0, 0, 0, 0, 0, 0], superSpeed: false) == nil)
        #expect(HubDescriptor(bytes: [9, 0x29, 4, 0x09, 0, 50, 100, 0, 0xFF], superSpeed: true) == nil)
        #expect(HubDescriptor(bytes: [9, 0x29, 4], superSpeed: false) == nil)
    }

    @Test("The port power bit is bit 8 on a USB 2 hub and bit 9 on a SuperSpeed one")
    func powerBit() {
        #expect(HubPortStatus(raw: 0x0103, superSpeed: false).isPowered)
        #expect(HubPortStatus(raw: 0x0103, superSpeed: false).isConnected)
        #expect(!HubPortStatus(raw: 0x0200, superSpeed: false).isPowered)
        #expect(HubPortStatus(raw: 0x02A0, superSpeed: true).isPowered)
        #expect(!HubPortStatus(raw: 0x0100, superSpeed: true).isPowered)
    }
}
