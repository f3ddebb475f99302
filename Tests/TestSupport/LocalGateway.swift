import CloudOTA
import LocalCloud

/// The local cloud's device gateway served on loopback for a test.
public enum LocalGateway {
    /// Starts `gateway` and returns its task and the port it listens on. The stream ends with
    /// the gateway: one that fails to start (its port still taken after a restart, say) is an
    /// error here, not a wait for a port that never comes.
    public static func serve(_ gateway: DeviceGateway, port: Int = 0) async throws -> (Task<Void, any Error>, Int) {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task {
            defer { continuation.finish() }
            try await gateway.run(port: port) { continuation.yield($0) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            if case .failure(let error) = await task.result { throw error }
            throw DeviceChannelError.unreachable("the gateway did not start")
        }
        return (task, bound)
    }
}
