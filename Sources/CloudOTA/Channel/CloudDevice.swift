import Links

/// A device's Device OS as the cloud channel sees it: it introduces itself at every connect,
/// answers OTA v3 requests (`CloudUpdateLink`, called on the device's side now) and takes the
/// cloud's system events.
public protocol CloudDevice: CloudUpdateLink {
    func hello() async throws -> DeviceHello
    /// `particle/device/updates/pending` and `…/forced` (§8.3). Returns the events the device
    /// publishes in answer (the forced echo).
    func received(event name: String, data: String) async -> [(name: String, data: String)]
}

/// How a device's session with the cloud ended.
public enum DeviceSessionEnd: Hashable, Sendable {
    /// The device applied an update and resets: it connects again as soon as it runs.
    case deviceResets
    /// The device stopped answering (powered off, or not running Device OS any more).
    case deviceGone
    /// The cloud closed the connection, or the network dropped it.
    case connectionClosed
    /// The device's side ended the session (`outbox` finished): a disconnect it chose.
    case disconnected
}

/// Why a device could not hold a session.
public enum DeviceChannelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The TLS handshake failed: the peer's certificate is not from the authority this side
    /// trusts (or names another host), or the peer refused ours.
    case untrustedPeer(String)
    case unreachable(String)
    case protocolViolation(String)
    case timedOut(String)

    public var description: String {
        switch self {
        case .untrustedPeer(let text): "refused by TLS: \(text)"
        case .unreachable(let text): "cannot reach the cloud: \(text)"
        case .protocolViolation(let text): "the peer broke the device protocol: \(text)"
        case .timedOut(let text): "timed out: \(text)"
        }
    }
}
