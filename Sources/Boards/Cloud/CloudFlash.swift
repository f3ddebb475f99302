import Cloud
import Foundation

/// An update through a cloud API, the way `particle flash DEVICE FILE` does it: `PUT
/// /v1/devices/ID` with the binary, then the device's events until the cloud reports the flash
/// (`spark/flash/status` success or failed, §8.3) and the device is back online after its
/// reset. The same code drives a real board through Particle's cloud and an emulated board
/// through the local one.
public struct CloudFlash: Sendable {
    public let client: CloudClient
    /// From the request to the device being online again.
    public let timeout: Duration
    /// What `timeout` is measured on.
    public let clock: any Clock<Duration>

    public init(client: CloudClient, timeout: Duration = .seconds(300), clock: any Clock<Duration> = ContinuousClock()) {
        self.client = client
        self.timeout = timeout
        self.clock = clock
    }

    /// What the cloud reported, in order, for the report and for tests.
    public struct Outcome: Hashable, Sendable {
        public var events: [String]
        public var elapsed: Duration
    }

    /// How a flash through the cloud fails once the API has taken the request.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// `spark/flash/status` said failed: the device refused or the transfer broke.
        case reportedFailed(deviceID: String, events: [String])
        case streamEnded(deviceID: String)
        case timedOut(deviceID: String, after: Duration)

        public var description: String {
            switch self {
            case .reportedFailed(let id, let events): "flash device \(id): the cloud reports the flash failed (events: \(events.joined(separator: ", ")))"
            case .streamEnded(let id): "flash device \(id): the event stream ended before the device came back online"
            case .timedOut(let id, let timeout): "flash device \(id): no success and reconnection within \(timeout) of the request"
            }
        }
    }

    @discardableResult
    public func flash(_ image: [UInt8], deviceID: String) async throws -> Outcome {
        let started = ContinuousClock.now
        let client = self.client, timeout = self.timeout, clock = self.clock
        return try await withThrowingTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                // Subscribed before the request, so no event of this flash is missed.
                var events = try await client.events(deviceID: deviceID, prefix: "spark/").makeAsyncIterator()
                try await client.flashDevice(deviceID, firmware: image)
                var seen: [String] = []
                var accepted = false
                while let event = try await events.next() {
                    seen.append("\(event.name) \(event.data)")
                    switch (event.name, event.data.trimmingCharacters(in: .whitespaces)) {
                    case ("spark/flash/status", let data) where data.hasPrefix("success"):
                        accepted = true
                    case ("spark/flash/status", let data) where data.hasPrefix("failed"):
                        throw Failure.reportedFailed(deviceID: deviceID, events: seen)
                    case ("spark/status", let data) where accepted && data.hasPrefix("online"):
                        return Outcome(events: seen, elapsed: started.duration(to: .now))
                    default:
                        continue
                    }
                }
                throw Failure.streamEnded(deviceID: deviceID)
            }
            group.addTask {
                try await clock.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let outcome = try await group.next()! else {
                throw Failure.timedOut(deviceID: deviceID, after: timeout)
            }
            return outcome
        }
    }
}
