import CloudOTA
import Foundation
import LocalCloud

/// The local device cloud served to other processes: Particle's REST API subset and the device
/// gateway, from a SQLite database (a restart loses nothing) and a trust folder holding the
/// cloud's certificate and the device authority.
public struct LocalCloudService: Sendable {
    /// Where clients find the cloud once both sides listen.
    public struct Endpoints: Sendable {
        public var apiPort: Int
        public var devicePort: Int
    }

    public enum Failure: Error, CustomStringConvertible {
        case database(path: String, underlying: any Error)
        case trust(underlying: any Error)

        public var description: String {
            switch self {
            case let .database(path, underlying): "cannot open the database \(path): \(underlying)"
            case let .trust(underlying): "\(underlying)"
            }
        }
    }

    private let store: LocalCloudStore
    private let trust: CloudTrust
    public let token: String

    /// Opens (or creates) the database and the trust folder.
    public init(database: String, trustFolder: URL, token: String) throws {
        do { store = try LocalCloudStore(path: database) } catch { throw Failure.database(path: database, underlying: error) }
        do { trust = try CloudTrust.loadOrCreate(in: trustFolder) } catch { throw Failure.trust(underlying: error) }
        self.token = token
    }

    /// Serves until `until` returns. Either side failing to start (a port taken) ends both.
    public func run(host: String, apiPort: Int, devicePort: Int,
                    onRunning: @escaping @Sendable (Endpoints) -> Void,
                    until: @escaping @Sendable () async -> Void) async throws {
        let events = EventHub()
        let gateway = DeviceGateway(store: store, events: events, trust: trust)
        var server = LocalCloudServer(store: store, token: token, events: events)
        server.gateway = gateway
        let api = server
        let (devicePorts, deviceBound) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await gateway.run(host: host, port: devicePort) { deviceBound.yield($0) } } catch {
                    deviceBound.finish()
                    throw error
                }
            }
            var iterator = devicePorts.makeAsyncIterator()
            guard let boundDevicePort = await iterator.next() else {
                try await group.waitForAll()
                return
            }
            group.addTask {
                try await api.run(host: host, port: apiPort, onRunning: { bound in
                    onRunning(Endpoints(apiPort: bound, devicePort: boundDevicePort))
                }, until: until)
            }
            // The REST side ends at `until` (or at once if it cannot start): the devices' side with it.
            try await group.next()
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}
