import Foundation
import USB

/// A board's serial port as the serial commands find it: a tty path given as is (a real
/// /dev/ttyACM0, a /dev/serial/by-id link, an `emulate --pty` link), or a board on USB by
/// device id, whose tty udev finds again after every reset.
public struct SerialTarget: Sendable {
    public var name: String
    public var deviceID: String?
    public var locate: @Sendable () async -> String?

    /// The lease of the board behind it: its device id, or the tty it is reached by.
    public var leaseKey: String { deviceID?.lowercased() ?? "tty-" + ((name as NSString).resolvingSymlinksInPath as NSString).lastPathComponent }

    public static func resolve(_ board: String) -> SerialTarget {
        if board.contains("/") || FileManager.default.fileExists(atPath: board) {
            return SerialTarget(name: board, deviceID: nil) { FileManager.default.fileExists(atPath: board) ? board : nil }
        }
        let id = board.lowercased()
        return SerialTarget(name: board, deviceID: id) { USBDiscovery.tty(forDeviceID: id) }
    }

    /// No port appeared in time.
    public struct NoPort: Error, CustomStringConvertible {
        public var description: String
    }

    /// Waits for the port to exist.
    public func path(timeout: Duration) async throws -> String {
        try await path(timeout: timeout, clock: ContinuousClock())
    }

    /// Waits for the port to exist, looking every 50 ms on `clock`.
    public func path<C: Clock<Duration>>(timeout: Duration, clock: C) async throws -> String {
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if let path = await locate() { return path }
            guard clock.now < deadline else {
                throw NoPort(description: deviceID == nil ? "no serial port at \(name)"
                                                          : "no serial port for \(name): is the board on USB and running Device OS?")
            }
            try await clock.sleep(for: .milliseconds(50))
        }
    }
}
