/// OTA through control requests to the running Device OS, which validates, queues and restarts.
public protocol ControlRequestUpdates: BoardFacet {
    /// With `cut`, the power is cut where it says (the board's power facet does it).
    func update(to image: FirmwareImage, cuttingPower cut: PowerCut?) async throws
    /// Announces `image` but sends only its first `bytes` before finishing: a host that
    /// stopped short (a crash, a USB glitch). The board must refuse it.
    func updateCutShort(to image: FirmwareImage, sending bytes: Int) async throws
}

/// OTA through a cloud API: the API's flash call, protocol v3 over the board's cloud session.
public protocol CloudUpdates: BoardFacet {
    func update(to image: FirmwareImage) async throws
}

/// A cloud update with the power cut during its transfer. A board has it only where the bench
/// can count the transfer's bytes: the local cloud serving an emulated board. Particle's cloud
/// tells the bench nothing of a download's progress, so a board on USB has none.
public protocol CloudPowerCuts: BoardFacet {
    func update(to image: FirmwareImage, cuttingPower cut: PowerCut) async throws
}

/// OTA through listening mode's `f` and YMODEM on the board's serial port (Gen 2-era Device OS).
public protocol YModemUpdates: BoardFacet {
    func update(to image: FirmwareImage) async throws
}
