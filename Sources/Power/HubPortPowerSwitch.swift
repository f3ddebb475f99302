import Links
import NIOConcurrencyHelpers
import USB

/// A board's power through the hub port it is plugged into, switched with the hub-class
/// requests uhubctl sends. The hub is named by its location (`1-1.4`), as uhubctl's `-l` does;
/// a USB 3 hub's USB 2 twin is switched too, since the port's VBUS stays on while either half
/// powers it. A hub that switches its ports together (ganged) or not at all is refused: cutting
/// it would cut other boards, or nothing.
public final class HubPortPowerSwitch: PowerSwitch {
    public let hubPort: HubPort
    public var location: String { hubPort.location }
    public var port: Int { hubPort.port }
    /// How the hubs are found; tests and callers with a cached list may give their own.
    private let hubs: @Sendable () async throws -> [USBHub]
    /// The hubs found and opened at the first switch, kept for the next ones: a power cut lands
    /// sooner when the switch does not enumerate and open hubs first. Found again once when a
    /// kept hub fails (unplugged and back, renumbered).
    private let opened = NIOLockedValueBox<[(hub: USBHub, connection: USBDeviceConnection)]?>(nil)

    public init(_ hubPort: HubPort, hubs: @escaping @Sendable () async throws -> [USBHub] = { try await USBHub.all() }) {
        self.hubPort = hubPort
        self.hubs = hubs
    }

    public func setPower(_ on: Bool) async throws {
        do { try await setPower(on, targets: try await targets(fresh: false)) } catch let error as HubPowerError where error.isConfiguration {
            throw error
        } catch {
            try await setPower(on, targets: try await targets(fresh: true))
        }
    }

    private func setPower(_ on: Bool, targets: [(hub: USBHub, connection: USBDeviceConnection)]) async throws {
        for (hub, connection) in targets {
            do { try await connection.setPortPower(port, on: on) } catch {
                throw HubPowerError(location: hub.location, port: port, reason: "refused to switch the port \(on ? "on" : "off"): \(error)")
            }
        }
        // Read back what the hub says: a hub that ignores the request is caught here; one that
        // reports the port off but keeps VBUS on only the verified cut can catch.
        for (hub, connection) in targets {
            let status = try await connection.portStatus(port, superSpeed: hub.superSpeed)
            guard status.isPowered == on else {
                throw HubPowerError(location: hub.location, port: port,
                                    reason: "still reports the port \(status.isPowered ? "powered" : "unpowered") after switching it \(on ? "on" : "off")")
            }
        }
    }

    public func state() async throws -> PowerState {
        var powered = false
        for (hub, connection) in try await targets(fresh: true) {
            powered = try await connection.portStatus(port, superSpeed: hub.superSpeed).isPowered || powered
        }
        return powered ? .on : .off
    }

    private func targets(fresh: Bool) async throws -> [(hub: USBHub, connection: USBDeviceConnection)] {
        if !fresh, let kept = opened.withLockedValue({ $0 }) { return kept }
        let found = try await resolve().map { hub in (hub: hub, connection: try open(hub)) }
        opened.withLockedValue { $0 = found }
        return found
    }

    /// The hub at `location` and its twin, checked for per-port switching and the port.
    func resolve() async throws -> [USBHub] {
        let all = try await hubs()
        guard let hub = all.first(where: { $0.location == location }) else {
            let known = all.map(\.location).sorted()
            throw HubPowerError(location: location, port: port,
                                reason: "no hub there" + (known.isEmpty ? " (no switchable hub found)" : " (hubs: \(known.joined(separator: ", ")))"),
                                isConfiguration: true)
        }
        let targets = [hub] + (hub.twin(among: all).map { [$0] } ?? [])
        for target in targets {
            switch target.descriptor.powerSwitching {
            case .perPort: break
            case .ganged:
                throw HubPowerError(location: target.location, port: port,
                                    reason: "switches all its ports together (ganged), so it cannot cut one board's power", isConfiguration: true)
            case .none:
                throw HubPowerError(location: target.location, port: port, reason: "cannot switch port power at all", isConfiguration: true)
            }
            guard (1...target.descriptor.portCount).contains(port) else {
                throw HubPowerError(location: target.location, port: port, reason: "has ports 1…\(target.descriptor.portCount) only", isConfiguration: true)
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

    /// Whether the fault is the hub's kind or the inventory's (ganged, no such hub or port),
    /// which finding the hubs again cannot change.
    public var isConfiguration = false

    public var description: String { "USB hub \(location) port \(port): \(reason)" }
}
