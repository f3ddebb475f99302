import ScenarioAPI
import Cloud
import CloudOTA
import Emulator
import Foundation
import Links
import LocalCloud
import Logging

/// The local device cloud inside this process, for emulated boards' cloud path: started on
/// loopback at first use (REST API and device gateway, a fresh database and fresh
/// authorities), each board registered, provisioned with its own certificate and connected
/// over TLS as it first needs the cloud. Boards then update exactly as a real board does
/// through Particle's cloud: `CloudFlash`.
public actor LocalBenchCloud {
    public static let shared = LocalBenchCloud()
    static let product = "otabench-emulated"

    struct Running {
        var client: CloudClient
        var gateway: DeviceGateway
        var gatewayPort: Int
        var tasks: [Task<Void, any Error>]
    }

    /// Started once: callers arriving while it starts wait for the same start (an actor is
    /// re-entered at every await, so a plain "if not started" would start it twice).
    private var starting: Task<Running, any Error>?
    /// Each device id's connection, with the board it belongs to: a case that makes a new board
    /// under the same id replaces the connection.
    private var connections: [String: (board: ObjectIdentifier, task: Task<Void, Never>)] = [:]
    private var busy: Set<String> = [] {
        didSet { flashesDone.wake(busy) }
    }
    private let flashesDone = StateWaiters<Set<String>>()

    public init() {}

    /// Updates `board` through the cloud; returns once the board is back online.
    @discardableResult
    public func flash(_ image: [UInt8], board: BoardEmulator, timeout: Duration = .seconds(60)) async throws -> CloudFlash.Outcome {
        let running = try await start()
        let id = await board.model.deviceID
        // One flash per device id at a time: two benches in one process (tests) may name boards alike.
        // Woken when the other flash ends; a third waiter may have taken the id meanwhile.
        while busy.contains(id) { try await flashesDone.wait(until: { !$0.contains(id) }, now: { busy }) }
        busy.insert(id)
        defer { busy.remove(id) }
        if connections[id]?.board != ObjectIdentifier(board) {
            // Another board under this id had the session: it goes first, so the cloud's
            // session for the id is this board's once it says hello.
            if let old = connections[id] {
                old.task.cancel()
                await old.task.value
            }
            try running.gateway.store.addDevices(product: Self.product, [id])
            let before = running.gateway.sessionsBegun(id)
            let connection = EmulatedCloudConnection(
                board: board, client: try DeviceCloudClient(credentials: try running.gateway.trust.provisionDevice(id),
                                                            endpoint: DeviceCloudEndpoint(port: running.gatewayPort)),
                retryDelay: .milliseconds(100))
            connections[id] = (ObjectIdentifier(board), Task { await connection.run() })
            // Woken by the board's hello; the limit only stops a board that never says it.
            let gateway = running.gateway
            do {
                try await withTimeout(.seconds(60), what: "connect \(id) to the local cloud") {
                    try await gateway.waitForSession(id, beyond: before)
                }
            } catch is TimeoutError {
                throw CloudError(operation: "connect \(id) to the local cloud", status: nil, message: "the board did not come online within 60 s")
            }
        }
        return try await CloudFlash(client: running.client, timeout: timeout).flash(image, deviceID: id)
    }

    private func start() async throws -> Running {
        if let starting { return try await starting.value }
        let task = Task { try await Self.startCloud() }
        starting = task
        return try await task.value
    }

    private static func startCloud() async throws -> Running {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-cloud-\(getpid())-\(UUID().uuidString.prefix(8))")
        var logger = Logger(label: "otabench.cloud")
        logger.logLevel = .error
        let store = try LocalCloudStore(path: folder.appendingPathComponent("cloud.sqlite").path)
        let events = EventHub()
        let gateway = DeviceGateway(store: store, events: events, trust: try CloudTrust.create(), logger: logger)
        let token = UUID().uuidString
        var server = LocalCloudServer(store: store, token: token, events: events)
        server.gateway = gateway
        let (apiPorts, apiFound) = AsyncStream.makeStream(of: Int.self)
        let (gatewayPorts, gatewayFound) = AsyncStream.makeStream(of: Int.self)
        let api = Task { try await server.run(port: 0, logger: logger, onRunning: { apiFound.yield($0) }) }
        let devices = Task { try await gateway.run(port: 0) { gatewayFound.yield($0) } }
        var apiIterator = apiPorts.makeAsyncIterator(), gatewayIterator = gatewayPorts.makeAsyncIterator()
        guard let apiPort = await apiIterator.next(), let gatewayPort = await gatewayIterator.next() else {
            throw CloudError(operation: "start the local cloud", status: nil, message: "it did not start")
        }
        return Running(client: CloudClient(credentials: CloudCredentials(baseURL: "http://127.0.0.1:\(apiPort)", token: token)),
                       gateway: gateway, gatewayPort: gatewayPort, tasks: [api, devices])
    }
}
