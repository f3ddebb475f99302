import Links

/// YMODEM over a `ByteStream`: drives the sender and the receiver with reads that time out.
public enum YModemTransfer {
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Sends one file; returns when the receiver acknowledged the end of the batch, leaving
    /// anything after that acknowledgement unread.
    ///
    /// `closingWait`: how long to keep answering after the closing empty header when no ACK
    /// comes. lrzsz's rb empties its input right after asking for that header, so a quick
    /// answer can be lost, and it asks again only after its own 10 s timeout.
    public static func send(name: String, data: [UInt8], over stream: some ByteStream, timeout: Duration = .seconds(3),
                            closingWait: Duration = .seconds(12),
                            progress: (@Sendable (Int, Int) -> Void)? = nil) async throws {
        var sender = YModemSender(name: name, data: data)
        var closingSince: ContinuousClock.Instant?
        while !sender.isDone {
            // Awaiting the last ACK, a byte at a time: what the receiver says after it (a
            // board's verdict on the image) is the caller's, not the transfer's.
            let bytes = try await stream.read(maximum: sender.isClosing ? 1 : 4096, timeout: timeout)
            if sender.isClosing, closingSince == nil { closingSince = .now }
            if bytes.isEmpty, let since = closingSince, ContinuousClock.now - since < closingWait { continue }
            let output = bytes.isEmpty ? sender.timedOut() : sender.receive(bytes)
            if !output.send.isEmpty { try await stream.write(output.send) }
            for event in output.events {
                switch event {
                case .progress(let sent, let total): progress?(sent, total)
                case .aborted(let reason): throw Failure(description: "YMODEM send of \(name) failed: \(reason)")
                case .finished: break
                }
            }
        }
    }

    /// Receives one batch; returns the files in it.
    public static func receive(over stream: some ByteStream, maximumFileSize: Int? = nil,
                               timeout: Duration = .seconds(3)) async throws -> [(name: String, data: [UInt8])] {
        var receiver = YModemReceiver(maximumFileSize: maximumFileSize)
        try await stream.write(receiver.start())
        var files: [(name: String, data: [UInt8])] = []
        var inFile = false
        while !receiver.isDone {
            let bytes = try await stream.read(maximum: 4096, timeout: timeout)
            let output = bytes.isEmpty ? receiver.timedOut() : receiver.receive(bytes)
            if !output.reply.isEmpty { try await stream.write(output.reply) }
            for event in output.events {
                switch event {
                case .fileStarted(let name, _):
                    // Started again mid-file: the sender restarts it, the partial data goes.
                    if inFile { files[files.count - 1] = (name, []) } else { files.append((name, [])) }
                    inFile = true
                case .data(let data): files[files.count - 1].data += data
                case .fileFinished: inFile = false
                case .batchFinished: break
                case .aborted(let reason): throw Failure(description: "YMODEM receive failed: \(reason)")
                }
            }
        }
        return files
    }
}
