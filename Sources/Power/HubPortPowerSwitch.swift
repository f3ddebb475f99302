import Links
import USB

/// A board's power through the hub port it is plugged into, switched with the hub-class
/// requests uhubctl sends. The hub is named by its location (`1-1.4`), as uhubctl's `-l` does;
/// a USB 3 hub's USB 2 twin is switched too, since the port's VBUS stays on while either half
/// powers it. A hub that switches its ports together (ganged) or not at all is refused: cutting
/// it would cut other boards, or nothing.
public struct HubPortPowerSwitch: PowerSwitch {
    public let hubPort: HubPort
    public var location: String { hubPort.location }
    public var port: Int { hubPort.port }
    /// How the hubs are found; tests and callers with a cached list may give their own.
    private let hubs: @Sendable () async throws -> [USBHub]

    public init(_ hubPort: HubPort, hubs: @escaping @Sendable () async throws -> [USBHub] = { try await USBHub.all() }) {
        self.hubPort = hubPort
        self.hubs = hubs
    }

    public func setPower(_ on: Bool) async throws {
        let targets = try await resolve()
        for hub in targets {
            let connection = try open(hub)
            do { try await connection.setPortPower(port, on: on) } catch {
                throw HubPowerError(location: hub.location, port: port, reason: "refused to switch the port \(on ? "on" : "off"): \(error)")
            }
        }
        // Read back what the hub says: a hub that ignores the request is caught here; one that
        // reports the port off but keeps VBUS on only the verified cut can catch.
        for hub in targets {
            let status = try await open(hub).portStatus(port, superSpeed: hub.superSpeed)
            guard status.isPowered == on else {
                throw HubPowerError(location: hub.location, port: port,
                                    reason: "still reports the port \(status.isPowered ? "powered" : "unpowered") after switching it \(on ? "on" : "off")")
            }
        }
    }

    public func state() async throws -> PowerState {
        let targets = try await resolve()
        var powered = false
        for hub in targets {
            powered = try await open(hub).portStatus(port, superSpeed: hub.superSpeed).isPowered || powered
        }
        return powered ? .on : .off
    }

    /// The hub at `location` and its twin, checked for per-port switching and the port.
    func resolve() async throws -> [USBHub] {
        let all = try await hubs()
        guard let hub = all.first(where: { $0.location == location }) else {
            let known = all.map(\.location).sorted()
            throw HubPowerError(location: location, port: port,
                                reason: "no hub there" + (known.isEmpty ? " (no switchable hub found)" : " (hubs: \(known.joined(separator: ", ")))"))
        }
        let targets = [hub] + (hub.twin(among: all).map { [$0] } ?? [])
        for target in targets {
            switch target.descriptor.powerSwitching {
            case .perPort: break
            case .ganged:
                throw HubPowerError(location: target.location, port: port,
                                    reason: "switches all its ports together (ganged), so it cannot cut one board's power")
            case .none:
                throw HubPowerError(location: target.location, port: port, reason: "cannot switch port power at all")
            }
            guard (1...target.descriptor.portCount).contains(port) else {
                throw HubPowerError(location: target.location, port: port, reason: "has ports 1…\(target.descriptor.portCount) only")
            }
        }
        return targets
    }

    private func open(_ hub: USBHub) throws -> USBDeviceConnection {
        do { return try USBDeviceConnection(hub.device) } catch {
            throw HubPowerError(location: hub.location, port: port, reason: "cannot be opened: \(error)")
        }
    }
}

/// A port of a hub, by the hub's location (`1-1.4`) and the port's number.
public struct HubPort: Hashable, Sendable, CustomStringConvertible {
    public var location: String
    public var port: Int

    public init(location: String, port: Int) {
        self.location = location
        self.port = port
    }

    public var description: String { "hub \(location) port \(port)" }
}

/// A hub port that could not be switched, and why.
public struct HubPowerError: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: String
    public var port: Int
    public var reason: String

    public var description: String { "USB hub \(location) port \(port): \(reason)" }
}
