/// USB control transfers on endpoint 0: what DfuSe and Particle's control requests are
/// written against. libusb implements it for real boards, the emulator for emulated ones.
public protocol ControlPipe: Sendable {
    /// Device-to-host transfer: returns at most `setup.length` bytes.
    func controlIn(_ setup: ControlSetup, timeout: Duration) async throws -> [UInt8]
    /// Host-to-device transfer carrying `data` (`setup.length` is taken from it).
    func controlOut(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws
}

/// The fields of a USB SETUP packet that a caller chooses.
public struct ControlSetup: Hashable, Sendable {
    public var requestType: UInt8
    public var request: UInt8
    public var value: UInt16
    public var index: UInt16
    public var length: UInt16

    public init(requestType: UInt8, request: UInt8, value: UInt16, index: UInt16, length: UInt16) {
        self.requestType = requestType
        self.request = request
        self.value = value
        self.index = index
        self.length = length
    }
}
