import CLibUSB

/// A libusb or libudev failure, with what was being done.
public struct USBError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var name: String

    init(_ operation: String, libusb code: Int32) {
        self.operation = operation
        self.code = code
        self.name = String(cString: libusb_error_name(code))
    }

    init(_ operation: String, reason: String) {
        self.operation = operation
        self.code = 0
        self.name = reason
    }

    public var description: String { "\(operation): \(name)" }
}
