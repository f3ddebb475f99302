import Firmware
import Links

/// The cloud's half of OTA protocol v3 (§8.2): start (the device answers where to resume),
/// chunks within the receive window, resent until acknowledged, then finish.
public struct CloudUpdateSender: Sendable {
    public var chunkSize = 512
    /// The device's receive window: the sender keeps at most this much unacknowledged.
    public var window = 128 * 1024
    /// Rounds over the window without any new acknowledgement before giving up.
    public var stallRounds = 3
    /// On a pipelined link: how long to wait for an acknowledgement before sending the window
    /// again from the first unacknowledged chunk.
    public var acknowledgementTimeout: Duration = .seconds(30)

    public struct Stats: Hashable, Sendable {
        public var resumedAt: Int
        public var chunksSent: Int
        public var chunkCount: Int
    }

    public init() {}

    public func send(_ file: [UInt8], over link: some CloudUpdateLink) async throws -> Stats {
        let count = (file.count + chunkSize - 1) / chunkSize
        let offset = try await link.start(size: file.count, sha256: SHA256.digest(file), chunkSize: chunkSize)
        guard offset >= 0, offset <= file.count, offset % chunkSize == 0 || offset == file.count else {
            throw LinkError.other("the device answered start offset \(offset), not a chunk boundary of a \(file.count)-byte file")
        }
        if let pipelined = link as? any PipelinedCloudUpdateLink {
            return try await sendPipelined(file, over: pipelined, from: offset)
        }
        var upTo = (offset + chunkSize - 1) / chunkSize
        var acknowledged: Set<Int> = []
        var sent = 0
        var stalled = 0
        let windowChunks = max(1, window / chunkSize)
        while upTo < count {
            let before = (upTo, acknowledged.count)
            for index in upTo..<min(count, upTo + windowChunks) where !acknowledged.contains(index) {
                let data = Array(file[(index * chunkSize)..<min(file.count, (index + 1) * chunkSize)])
                let ack = try await link.chunk(index: index, data: data)
                sent += 1
                upTo = max(upTo, ack.upTo)
                acknowledged = Set(ack.selective.filter { $0 >= upTo })
                if upTo >= count { break }
            }
            if (upTo, acknowledged.count) == before {
                stalled += 1
                guard stalled < stallRounds else { throw LinkError.other("the device acknowledged nothing in \(stallRounds) rounds at chunk \(upTo)") }
            } else {
                stalled = 0
            }
        }
        try await link.finish(cancel: false)
        return Stats(resumedAt: offset, chunksSent: sent, chunkCount: count)
    }

    /// The window kept full: chunks go out without waiting, acknowledgements move it on, and a
    /// silence of `acknowledgementTimeout` sends it again from the first unacknowledged chunk.
    func sendPipelined(_ file: [UInt8], over link: any PipelinedCloudUpdateLink, from offset: Int) async throws -> Stats {
        let count = (file.count + chunkSize - 1) / chunkSize
        let windowChunks = max(1, window / chunkSize)
        var upTo = (offset + chunkSize - 1) / chunkSize
        var held: Set<Int> = []
        var next = upTo
        var sent = 0
        var stalled = 0
        while upTo < count {
            while next < count, next < upTo + windowChunks {
                if !held.contains(next) {
                    try await link.post(index: next, data: Array(file[(next * chunkSize)..<min(file.count, (next + 1) * chunkSize)]))
                    sent += 1
                }
                next += 1
            }
            guard let ack = try await link.nextAcknowledgement(within: acknowledgementTimeout) else {
                stalled += 1
                guard stalled < stallRounds else {
                    throw LinkError.other("the device acknowledged nothing in \(stallRounds) rounds of \(acknowledgementTimeout) at chunk \(upTo)")
                }
                next = upTo
                continue
            }
            if ack.upTo > upTo { stalled = 0 }
            upTo = max(upTo, ack.upTo)
            // The device's latest word on what it holds ahead (acknowledgements arrive in order).
            held = Set(ack.selective.filter { $0 >= upTo })
        }
        try await link.finish(cancel: false)
        return Stats(resumedAt: offset, chunksSent: sent, chunkCount: count)
    }
}
