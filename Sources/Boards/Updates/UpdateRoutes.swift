import ScenarioAPI

/// The ways an image reaches a running board. One board type sends by several; each route is
/// its own facet, present only where the board has that way.
enum UpdateRoute: String, Hashable, Sendable {
    case controlRequests = "control requests"
    case cloud = "the cloud"
    case serialYModem = "YMODEM"
}

/// A board that sends images by route; the route facets below hand it theirs.
protocol RoutedUpdates: Sendable {
    func update(to image: FirmwareImage, via route: UpdateRoute, cuttingPower cut: PowerCut?) async throws
    func updateCutShort(to image: FirmwareImage, sending bytes: Int) async throws
}

struct ControlRequestRoute<Sender: RoutedUpdates>: ControlRequestUpdates {
    let board: Sender
    func update(to image: FirmwareImage, cuttingPower cut: PowerCut?) async throws {
        try await board.update(to: image, via: .controlRequests, cuttingPower: cut)
    }
    func updateCutShort(to image: FirmwareImage, sending bytes: Int) async throws {
        try await board.updateCutShort(to: image, sending: bytes)
    }
}

struct CloudRoute<Sender: RoutedUpdates>: CloudUpdates {
    let board: Sender
    func update(to image: FirmwareImage, cuttingPower cut: PowerCut?) async throws {
        try await board.update(to: image, via: .cloud, cuttingPower: cut)
    }
}

struct YModemRoute<Sender: RoutedUpdates>: YModemUpdates {
    let board: Sender
    func update(to image: FirmwareImage) async throws {
        try await board.update(to: image, via: .serialYModem, cuttingPower: nil)
    }
}
