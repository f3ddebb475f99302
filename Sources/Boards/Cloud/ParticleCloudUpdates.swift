import ScenarioAPI

/// The cloud facet of a board on USB, there when the bench holds cloud credentials: the API's
/// flash call by device id, then the board's own download over its cloud session. The API
/// says nothing of that download's progress, so this facet takes no power cut.
struct ParticleCloudUpdates: CloudUpdates {
    let board: USBBoard
    let cloud: CloudFlash

    func update(to image: FirmwareImage) async throws {
        try await attempting(board.name, "update to \(image) by \(UpdateRoute.cloud.rawValue)") {
            try await cloud.flash(image.bytes, deviceID: board.deviceID)
        }
    }
}
