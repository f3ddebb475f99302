/// Device-side app events a scenario can wait for (§8.3).
public enum BoardEventName: String, Hashable, Sendable {
    case firmwareUpdateBegin = "firmware_update/begin"
    case firmwareUpdateProgress = "firmware_update/progress"
    case firmwareUpdateComplete = "firmware_update/complete"
    case firmwareUpdateFailed = "firmware_update/failed"
    case firmwareUpdatePending = "firmware_update_pending"
    case updatesEnabledPublished = "particle/device/updates/enabled"
    case updatesForcedPublished = "particle/device/updates/forced"
    case reset
}
