import Links

/// YMODEM over a `ByteStream`: drives the sender and the receiver with reads that time out.
public enum YModemTransfer {
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
        /// What the peer sent after it cancelled, read with the cancel and not yet looked at.
        public var unread: [UInt8] = []

        public init(description: String, unread: [UInt8] = []) {
            self.description = description
            self.unread = unread
        }
    }

    /// How a send ended that did not fail.
    public enum Ending: Hashable, Sendable {
        /// The closing block was acknowledged (or, from rb, its ACK lost in the receiver's exit).
        case acknowledged
        /// CAN CAN answered the closing block: the file arrived and the receiver refused it.
        case refusedAtClose
    }

    /// Sends one file; returns when the receiver acknowledged the end of the batch or refused
    /// the file at its close, leaving anything after that answer unread.
    ///
    /// `start`: `.atOnce` for Device OS's listening mode, whose receiver asks for nothing
    /// for 5 s. `closingWait`: how long to keep answering after the closing empty header when
    /// no ACK comes. lrzsz's rb empties its input right after asking for that header
    /// (lrz.c wcrxpn: sendline, flushmo, purgeline), so a quick answer can be lost, and it
    /// asks again only after its own 10 s timeout, later still on a busy machine: a receiver
    /// that asked (`.onRequest`) gets the header again at each of our `timeout`s, which lands
    /// once it reads. Device OS's receiver has ended at that header and answers only after
    /// validating: it gets nothing more (a stray SOH would start a new transfer).
    @discardableResult
    public static func send(name: String, data: [UInt8], over stream: some ByteStream, timeout: Duration = .seconds(3),
                            closingWait: Duration = .seconds(12), start: YModemSender.Start = .onRequest,
                            progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> Ending {
        var sender = YModemSender(name: name, data: data, start: start)
        let opening = sender.begin()
        if !opening.send.isEmpty { try await stream.write(opening.send) }
        var closingSince: ContinuousClock.Instant?
        var ending = Ending.acknowledged
        while !sender.isDone {
            // Awaiting the last ACK, a byte at a time: what the receiver says after it (a
            // board's verdict on the image) is the caller's, not the transfer's.
            let bytes = try await stream.read(maximum: sender.isClosing ? 1 : 4096, timeout: timeout)
            if sender.isClosing, closingSince == nil { closingSince = .now }
            if bytes.isEmpty, let since = closingSince, ContinuousClock.now - since < closingWait {
                // Into a line whose receiver already exited (its ACK lost with it), this write
                // may fail: the batch is over either way.
                if start == .onRequest, let again = sender.closingBlock { try? await stream.write(again) }
                continue
            }
            let output = bytes.isEmpty ? sender.timedOut() : sender.receive(bytes)
            if !output.send.isEmpty { try await stream.write(output.send) }
            for event in output.events {
                switch event {
                case .progress(let sent, let total): progress?(sent, total)
                case .aborted(let reason):
                    throw Failure(description: "YMODEM send of \(name) failed: \(reason)", unread: Array(bytes.dropFirst(output.consumed)))
                case .refusedAtClose: ending = .refusedAtClose
                case .finished: break
                }
            }
        }
        return ending
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
