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
                        throw CloudError(operation: "flash device \(deviceID)", status: nil,
                                         message: "the cloud reports the flash failed (events: \(seen.joined(separator: ", ")))")
                    case ("spark/status", let data) where accepted && data.hasPrefix("online"):
                        return Outcome(events: seen, elapsed: started.duration(to: .now))
                    default:
                        continue
                    }
                }
                throw CloudError(operation: "flash device \(deviceID)", status: nil, message: "the event stream ended before the device came back online")
            }
            group.addTask {
                try await clock.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let outcome = try await group.next()! else {
                throw CloudError(operation: "flash device \(deviceID)", status: nil,
                                 message: "no success and reconnection within \(timeout) of the request")
            }
            return outcome
        }
    }
}
