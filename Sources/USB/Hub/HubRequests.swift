import Links

/// The hub-class requests port power needs (USB 2.0 §11.24.2), the ones uhubctl sends.
/// Written against `ControlPipe`, so they run over libusb or straight into an emulated hub.
extension ControlPipe {
    private static var hubTimeout: Duration { .seconds(5) }

    /// GetHubDescriptor.
    public func hubDescriptor(superSpeed: Bool) async throws -> HubDescriptor {
        let type = HubDescriptor.descriptorType(superSpeed: superSpeed)
        let bytes = try await controlIn(
            ControlSetup(requestType: 0xA0, request: 0x06, value: UInt16(type) << 8, index: 0, length: 64), timeout: Self.hubTimeout)
        guard let descriptor = HubDescriptor(bytes: bytes, superSpeed: superSpeed) else {
            throw LinkError.other("the hub sent no valid hub descriptor (\(bytes.count) bytes)")
        }
        return descriptor
    }

    /// GetPortStatus for `port` (1-based).
    public func portStatus(_ port: Int, superSpeed: Bool) async throws -> HubPortStatus {
        let bytes = try await controlIn(
            ControlSetup(requestType: 0xA3, request: 0x00, value: 0, index: UInt16(port), length: 4), timeout: Self.hubTimeout)
        guard bytes.count >= 2 else { throw LinkError.other("the hub answered GetPortStatus with \(bytes.count) bytes") }
        return HubPortStatus(raw: UInt16(bytes[0]) | UInt16(bytes[1]) << 8, superSpeed: superSpeed)
    }

    /// SetPortFeature / ClearPortFeature PORT_POWER (feature 8).
    public func setPortPower(_ port: Int, on: Bool) async throws {
        try await controlOut(
            ControlSetup(requestType: 0x23, request: on ? 0x03 : 0x01, value: 8, index: UInt16(port), length: 0), data: [],
            timeout: Self.hubTimeout)
    }

    /// The Container ID from the device's BOS descriptor, as 32 hex digits: a USB 3 hub and its
    /// USB 2 twin carry the same one (USB 3.x §9.6.2.3). Nil when the device has none.
    public func containerID() async throws -> String? {
        let bos: [UInt8]
        do {
            bos = try await controlIn(ControlSetup(requestType: 0x80, request: 0x06, value: 0x0F00, index: 0, length: 255),
                                      timeout: Self.hubTimeout)
        } catch LinkError.stalled { return nil }
        guard bos.count >= 5, bos[1] == 0x0F else { return nil }
        var offset = Int(bos[0])
        while offset + 2 < bos.count, bos[offset] >= 3 {
            let length = Int(bos[offset])
            if bos[offset + 1] == 0x10, bos[offset + 2] == 0x04, length >= 20, offset + 20 <= bos.count {
                return bos[(offset + 4)..<(offset + 20)].map { hex($0) }.joined()
            }
            offset += length
        }
        return nil
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
