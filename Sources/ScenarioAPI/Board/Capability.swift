/// What a board can do, named for matching scenarios to boards and for reports: one per facet.
public enum Capability: String, Hashable, Sendable, Codable, CaseIterable {
    case moduleTable = "module-table"
    case modeControl = "mode-control"
    case dfu
    case controlRequests = "control-requests"
    /// Listening mode's `f` and YMODEM over the board's serial port: Device OS before 6.0.0.
    case serialYModem = "serial-ymodem"
    /// OTA through a cloud API (protocol v3 to the board): emulated boards through the local
    /// cloud over their TLS session; boards on USB through Particle's when the bench has a token.
    case cloudOTA = "cloud-ota"
    /// A power cut while a cloud update transfers: where the bench counts the bytes the cloud
    /// sends, which only the local cloud serving an emulated board lets it.
    case cloudPowerCut = "cloud-power-cut"
    case powerControl = "power-control"
    /// The board's console, read from its serial port or the emulator's log.
    case console
    /// The application's and the cloud's side of update control (disableUpdates, pending and
    /// forced notices) and the app events: the emulator has them; a real board needs the cloud path.
    case updateControl = "update-control"

    func isPresent(on board: some Board) -> Bool {
        switch self {
        case .moduleTable: board.facet((any ModuleTable).self) != nil
        case .modeControl: board.facet((any ModeControl).self) != nil
        case .dfu: board.facet((any DFUFlashing).self) != nil
        case .controlRequests: board.facet((any ControlRequestUpdates).self) != nil
        case .serialYModem: board.facet((any YModemUpdates).self) != nil
        case .cloudOTA: board.facet((any CloudUpdates).self) != nil
        case .cloudPowerCut: board.facet((any CloudPowerCuts).self) != nil
        case .powerControl: board.facet((any PowerControl).self) != nil
        case .console: board.facet((any Console).self) != nil
        case .updateControl: board.facet((any UpdateControl).self) != nil
        }
    }
}
