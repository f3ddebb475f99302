/// Something that can cut and restore a board's power: a hub port, a relay behind a
/// command, or the emulator.
public protocol PowerSwitch: Sendable {
    func setPower(_ on: Bool) async throws
    func state() async throws -> PowerState
}

public enum PowerState: String, Hashable, Sendable {
    case on, off, unknown
}

extension PowerSwitch {
    /// Off, wait, on.
    public func cycle(offFor duration: Duration, clock: some Clock<Duration>) async throws {
        try await setPower(false)
        try await clock.sleep(for: duration)
        try await setPower(true)
    }
}
