import Glibc

/// Why a serial port could not be opened or configured, with the port and the system's reason.
public struct SerialPortError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    static func system(_ path: String, _ operation: String, errno code: Int32 = errno) -> SerialPortError {
        SerialPortError(path: path, operation: operation, reason: String(cString: strerror(code)))
    }

    public var description: String { "\(path): cannot \(operation): \(reason)" }
}
