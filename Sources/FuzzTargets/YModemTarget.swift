import Links
import Serial

/// `ymodem`: the bytes are what a YMODEM sender puts on the line. They go to the receiver
/// (`YModemReceiver`, the host's receiver, which lrzsz's sb talks to) whole and in
/// pieces, which must give the same replies, events and state; the events must describe files
/// that start before their data, end with as many bytes as their header announced, and stay
/// within the receiver's limit. The same bytes then go to `YModemTransfer.receive` over a
/// scripted `ByteStream` whose reads time out at once. Last, a sender and a receiver move the
/// bytes as a file between them: it must arrive whole.
enum YModemTarget {
    /// Small, so that a file running past it is within the fuzzer's reach.
    static let maximumFileSize = 2048

    static func run(_ bytes: [UInt8]) {
        let whole = receive([bytes])
        let pieces = receive(chunks(of: bytes, sizes: [1, 5, 133, 1029, 3]))
        precondition(whole == pieces, "the YMODEM receiver answers otherwise when the same bytes come in other pieces")
        check(whole.events)
        runBlocking { await Self.transfer(bytes) }
        roundTrip(Array(bytes.prefix(8 << 10)))
    }

    struct Outcome: Equatable {
        var reply: [UInt8] = []
        var events: [YModemReceiver.Event] = []
        var state: YModemReceiver.State
    }

    static func receive(_ pieces: [[UInt8]]) -> Outcome {
        var receiver = YModemReceiver(maximumFileSize: maximumFileSize)
        var outcome = Outcome(state: receiver.state)
        for piece in pieces {
            let output = receiver.receive(piece)
            outcome.reply += output.reply
            outcome.events += output.events
        }
        outcome.state = receiver.state
        return outcome
    }

    static func check(_ events: [YModemReceiver.Event]) {
        var open: (size: Int?, received: Int)?
        for event in events {
            switch event {
            case .fileStarted(let name, let size):
                precondition(!name.isEmpty, "a YMODEM file started without a name")
                precondition(size.map { $0 >= 0 && $0 <= maximumFileSize } ?? true, "a file of \(size ?? 0) bytes was taken, the limit is \(maximumFileSize)")
                open = (size, 0)
            case .data(let data):
                guard var file = open else { preconditionFailure("YMODEM data arrived outside a file") }
                file.received += data.count
                precondition(file.size.map { file.received <= $0 } ?? true, "more data than the header announced")
                precondition(file.received <= maximumFileSize, "a file grew to \(file.received) bytes, past the receiver's limit of \(maximumFileSize)")
                open = file
            case .fileFinished:
                guard let file = open else { preconditionFailure("a YMODEM file finished that never started") }
                precondition(file.size.map { file.received == $0 } ?? true, "a file finished with \(file.received) of the \(file.size ?? 0) bytes announced")
                open = nil
            case .batchFinished:
                precondition(open == nil, "the YMODEM batch ended in the middle of a file")
            case .aborted:
                open = nil
            }
        }
    }

    /// Over a line that delivers the bytes in pieces and then stays silent: the receiver asks
    /// again, gives up, and the transfer throws, all without waiting.
    static func transfer(_ bytes: [UInt8]) async {
        let stream = ScriptedByteStream(initial: bytes, chunkSize: 700, silenceLimit: 32, readLimit: 2 * bytes.count + 64)
        guard let files = try? await YModemTransfer.receive(over: stream, maximumFileSize: maximumFileSize, timeout: .zero) else { return }
        for file in files {
            precondition(!file.name.isEmpty, "YMODEM received a file without a name")
            precondition(file.data.count <= maximumFileSize, "YMODEM received \(file.data.count) bytes, past the limit of \(maximumFileSize)")
        }
    }

    /// The bytes as a file, from a sender to a receiver and their answers back.
    static func roundTrip(_ data: [UInt8]) {
        let name = "fuzz.bin"
        var sender = YModemSender(name: name, data: data, blockSize: data.count % 2 == 0 ? 1024 : 128)
        var receiver = YModemReceiver()
        var toSender = receiver.start()
        var received: [UInt8] = []
        var started = 0
        var finished = false
        var senderFinished = false
        let limit = 4 * (data.count / 128 + 1) + 32
        var exchanges = 0
        while !(sender.isDone && receiver.isDone) {
            exchanges += 1
            precondition(exchanges <= limit, "a YMODEM transfer of \(data.count) bytes did not end in \(limit) exchanges")
            let sent = sender.receive(toSender)
            for event in sent.events {
                switch event {
                case .aborted(let reason): preconditionFailure("the YMODEM sender gave up on \(data.count) bytes: \(reason)")
                case .refusedAtClose: preconditionFailure("our receiver never refuses at the close")
                case .finished: senderFinished = true
                case .progress: break
                }
            }
            let answer = receiver.receive(sent.send)
            for event in answer.events {
                switch event {
                case .fileStarted(let fileName, let size):
                    precondition(fileName == name && size == data.count, "the receiver saw \(fileName), \(size ?? -1) bytes announced")
                    started += 1
                    received = []
                case .data(let bytes): received += bytes
                case .fileFinished: finished = true
                case .batchFinished: break
                case .aborted(let reason): preconditionFailure("the YMODEM receiver gave up on \(data.count) bytes: \(reason)")
                }
            }
            toSender = answer.reply
            if sent.send.isEmpty && answer.reply.isEmpty { break }
        }
        precondition(senderFinished && receiver.state == .finished && started == 1 && finished,
                     "a YMODEM transfer of \(data.count) bytes stalled")
        precondition(received == data, "YMODEM delivered \(received.count) bytes, not the \(data.count) sent")
    }
}
