/// The board's supply, switched from outside.
public protocol PowerControl: BoardFacet {
    func powerOff() async throws
    func powerOn() async throws
    /// What the last power cut of an update did: when its trigger fired, where it landed, how
    /// long the switch took. Forgotten when a case begins.
    func lastPowerCut() async -> PowerCutRecord?
}
