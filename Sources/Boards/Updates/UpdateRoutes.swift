import ScenarioAPI

/// The ways an image reaches a running emulated board, which has them all.
enum UpdateRoute: String, Hashable, Sendable {
    case controlRequests = "control requests"
    case cloud = "the cloud"
    case serialYModem = "YMODEM"
}

/// A board that sends images over control requests; `ControlRequestRoute` hands it the facet's calls.
protocol ControlRequestSender: Sendable {
    func updateByControlRequests(to image: FirmwareImage, cuttingPower cut: PowerCut?) async throws
    func updateCutShort(to image: FirmwareImage, sending bytes: Int) async throws
}

/// A board that sends images by every route, a power cut allowed on each that carries bytes
/// the bench can count: the emulated board. Each route is its own facet below.
protocol RoutedUpdates: ControlRequestSender {
    func update(to image: FirmwareImage, via route: UpdateRoute, cuttingPower cut: PowerCut?) async throws
}

extension RoutedUpdates {
    func updateByControlRequests(to image: FirmwareImage, cuttingPower cut: PowerCut?) async throws {
        try await update(to: image, via: .controlRequests, cuttingPower: cut)
    }
}

struct ControlRequestRoute<Sender: ControlRequestSender>: ControlRequestUpdates {
    let board: Sender
    func update(to image: FirmwareImage, cuttingPower cut: PowerCut?) async throws {
        try await board.updateByControlRequests(to: image, cuttingPower: cut)
    }
    func updateCutShort(to image: FirmwareImage, sending bytes: Int) async throws {
        try await board.updateCutShort(to: image, sending: bytes)
    }
}

struct CloudRoute<Sender: RoutedUpdates>: CloudUpdates {
    let board: Sender
    func update(to image: FirmwareImage) async throws {
        try await board.update(to: image, via: .cloud, cuttingPower: nil)
    }
}

struct CloudPowerCutRoute<Sender: RoutedUpdates>: CloudPowerCuts {
    let board: Sender
    func update(to image: FirmwareImage, cuttingPower cut: PowerCut) async throws {
        try await board.update(to: image, via: .cloud, cuttingPower: cut)
    }
}

struct YModemRoute<Sender: RoutedUpdates>: YModemUpdates {
    let board: Sender
    func update(to image: FirmwareImage) async throws {
        try await board.update(to: image, via: .serialYModem, cuttingPower: nil)
    }
}
