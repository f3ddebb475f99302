import Foundation
import Serial

/// What a board prints on its serial port, followed live across resets (the port found again
/// each time), optionally logged with the UTC time each line arrived.
public struct LiveConsole: Sendable {
    public let target: SerialTarget
    private let capture: ConsoleCapture

    /// `log`: append the timestamped console there.
    public init(_ target: SerialTarget, log: URL?) throws {
        self.target = target
        capture = try ConsoleCapture(logFile: log ?? URL(fileURLWithPath: "/dev/null"), locate: target.locate)
    }

    /// Hands every byte to `output` until `until` returns; `started` is called once the capture
    /// runs, `notice` when the port goes away.
    public func follow(output: @escaping @Sendable ([UInt8]) -> Void, notice: @escaping @Sendable (String) -> Void,
                       started: () -> Void = {}, until: () async -> Void) async {
        let tap = await capture.stream()
        await capture.start()
        started()
        let board = target.name
        let monitor = Task {
            var wasAttached = true
            while !Task.isCancelled {
                do {
                    let bytes = try await tap.read(maximum: 1 << 16, timeout: .milliseconds(100))
                    if !bytes.isEmpty { output(bytes) }
                    wasAttached = true
                } catch {
                    // Between a reset and the port's return.
                    if wasAttached { notice("\(board) went away; waiting for it") }
                    wasAttached = false
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
        }
        await until()
        monitor.cancel()
        _ = await monitor.value
        await capture.stop()
        // What arrived between the monitor's last look and the stop.
        while let rest = try? await tap.read(maximum: 1 << 16, timeout: .zero), !rest.isEmpty { output(rest) }
    }
}
