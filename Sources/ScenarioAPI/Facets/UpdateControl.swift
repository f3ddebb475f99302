/// The application's and the cloud's side of update control (§8.3), and the app's events.
public protocol UpdateControl: BoardFacet {
    /// System.disableUpdates / enableUpdates.
    func setUpdatesEnabled(_ enabled: Bool) async throws
    /// The cloud's pending / forced notices.
    func sendCloudNotice(pending: Bool?, forced: Bool?) async throws
    /// App events the board emitted since the last call (or since the case began).
    func takeEvents() async -> [BoardEventName]
}
