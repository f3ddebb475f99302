import Emulator
import Serial

/// `board-ymodem`: the bytes are what a host puts on a listening-mode line once `f` has
/// prompted, to the emulated board's receiver (`DeviceOSYModemReceiver`, Device OS's own).
/// Byte 0 picks the board's answers (how large an update it takes, after how many blocks a
/// save fails); the rest is the line. Fed whole, a byte at a time and in pieces, it must give
/// the same replies, requests and ending; it replies only with ACK, NAK, `C` and CAN; a save
/// is a whole 128- or 1024-byte payload of a started update; the ending says what happened
/// (the name and length prepared, the request the board failed, the user's `a`) and nothing
/// is read past it. Last, our host sender (the one `ListeningModeClient` drives, starting at
/// once as particle-cli did) sends a file made of the bytes to it: the board must save the
/// file whole, padding aside, and the sender must finish when the board ACKs the close.
enum BoardYModemTarget {
    /// The board's side, scripted from byte 0 and recording what it was asked.
    struct Board {
        var largest: Int
        var failingSave: Int?
        var saves = 0
        var requests: [DeviceOSYModemReceiver.Request] = []
        var answers: [DeviceOSYModemReceiver.Answer] = []

        init(_ script: UInt8) {
            // The largest update the board takes: a few sectors, a whole region, nothing, less
            // than one 1024-byte block.
            largest = [4096, 1 << 20, 0, 300][Int(script & 0x3)]
            failingSave = script & 0x4 == 0 ? nil : Int(script >> 3)
        }

        mutating func answer(_ request: DeviceOSYModemReceiver.Request) -> DeviceOSYModemReceiver.Answer {
            requests.append(request)
            let answer: DeviceOSYModemReceiver.Answer
            switch request {
            case .prepare(_, let size):
                // 5.x prepares the whole region for a missing size.
                answer = size <= largest ? .prepared(length: size == 0 ? largest : size) : .failed
            case .save:
                answer = saves == failingSave ? .failed : .saved
                saves += 1
            }
            answers.append(answer)
            return answer
        }
    }

    struct Outcome: Equatable {
        var reply: [UInt8] = []
        var consumed = 0
        var ending: DeviceOSYModemReceiver.Ending?
        var requests: [DeviceOSYModemReceiver.Request] = []
        var answers: [DeviceOSYModemReceiver.Answer] = []
    }

    static func run(_ bytes: [UInt8]) {
        guard let script = bytes.first else { return }
        let line = Array(bytes.dropFirst())
        let whole = receive(line, in: [line.count], script: script)
        precondition(receive(line, in: [1], script: script) == whole, "the board's YMODEM receiver answers otherwise a byte at a time")
        precondition(receive(line, in: [1, 7, 133, 1029, 2], script: script) == whole, "the board's YMODEM receiver answers otherwise in pieces")
        check(whole, line: line)
        afterwards(line, script: script)
        roundTrip(Array(line.prefix(6 << 10)), blockSize: script & 0x80 == 0 ? 1024 : 128)
    }

    static func receive(_ line: [UInt8], in sizes: [Int], script: UInt8) -> Outcome {
        var receiver = DeviceOSYModemReceiver()
        var board = Board(script)
        var outcome = Outcome()
        var offset = 0, turn = 0
        while offset < line.count, outcome.ending == nil {
            let size = max(1, sizes[turn % sizes.count])
            turn += 1
            let piece = Array(line[offset..<min(line.count, offset + size)])
            let output = receiver.receive(piece) { board.answer($0) }
            precondition(output.consumed <= piece.count, "the receiver read \(output.consumed) of \(piece.count) bytes")
            precondition(output.ending == nil || output.ending == receiver.ending, "an output's ending is not the receiver's")
            outcome.reply += output.reply
            outcome.consumed += output.consumed
            outcome.ending = output.ending
            offset += piece.count
        }
        outcome.requests = board.requests
        outcome.answers = board.answers
        return outcome
    }

    static func check(_ outcome: Outcome, line: [UInt8]) {
        let replies: Set<UInt8> = [YModemControl.ack, YModemControl.nak, YModemControl.crcRequest, YModemControl.can]
        precondition(outcome.reply.allSatisfy(replies.contains), "the board's receiver sent \(outcome.reply.filter { !replies.contains($0) })")
        precondition(outcome.ending != nil || outcome.consumed == line.count, "the receiver left bytes unread without ending")
        var prepared: (name: String, length: Int)?
        for (request, answer) in zip(outcome.requests, outcome.answers) {
            switch request {
            case .prepare(let name, _):
                if case .prepared(let length) = answer { prepared = (name, length) }
            case .save(let payload):
                precondition(payload.count == 128 || payload.count == 1024, "a save of \(payload.count) bytes")
                precondition(prepared != nil, "a block was saved before an update started")
            }
        }
        let cancelled = outcome.reply.suffix(2) == [YModemControl.can, YModemControl.can]
        switch outcome.ending {
        case .received(let name, let length)?:
            // With no file ever prepared the session ends at once, nameless.
            precondition(prepared.map { $0.name == name && $0.length == length } ?? (name.isEmpty && length == 0),
                         "the session ended with \(name), \(length) bytes; the board prepared \(String(describing: prepared))")
        case .prepareFailed?:
            guard case .prepare? = outcome.requests.last, outcome.answers.last == .failed, cancelled else {
                preconditionFailure("prepareFailed without a refused prepare and CAN CAN")
            }
        case .saveFailed?:
            guard case .save? = outcome.requests.last, outcome.answers.last == .failed, cancelled else {
                preconditionFailure("saveFailed without a failed save and CAN CAN")
            }
        case .abortedByUser?:
            precondition([UInt8(ascii: "a"), UInt8(ascii: "A")].contains(line[outcome.consumed - 1]) && cancelled,
                         "an abort by the user without an a")
        case .failed?:
            precondition(cancelled || outcome.reply.last == YModemControl.ack, "a failed session that told the host nothing")
        case nil:
            precondition(!outcome.answers.contains(.failed), "the board failed a request and the session went on")
        }
    }

    /// Once ended, the receiver reads nothing more and its timer says nothing; before, 5 s of
    /// silence is answered with `C`.
    static func afterwards(_ line: [UInt8], script: UInt8) {
        var receiver = DeviceOSYModemReceiver()
        var board = Board(script)
        _ = receiver.receive(line) { board.answer($0) }
        let ended = receiver.ending != nil
        let timedOut = receiver.timedOut()
        if ended {
            precondition(isSilent(timedOut), "the receiver's timer spoke past its ending")
        } else {
            precondition(timedOut.reply.first == YModemControl.crcRequest, "a quiet line answered with \(timedOut.reply)")
        }
        guard receiver.ending != nil else { return }
        let more = receiver.receive(line + [YModemControl.soh]) { board.answer($0) }
        precondition(more.consumed == 0 && more.reply.isEmpty, "the receiver read on past its ending")
        precondition(isSilent(receiver.timedOut()), "the receiver's timer spoke past its ending")
    }

    static func isSilent(_ output: DeviceOSYModemReceiver.Output) -> Bool {
        output.reply.isEmpty && output.consumed == 0 && output.ending == nil
    }

    /// Our sender to the board's receiver, the board taking everything and validating at once.
    static func roundTrip(_ data: [UInt8], blockSize: Int) {
        let name = "fuzz.bin"
        var sender = YModemSender(name: name, data: data, blockSize: blockSize, start: .atOnce)
        var receiver = DeviceOSYModemReceiver()
        var saved: [UInt8] = []
        var toReceiver = sender.begin().send
        let limit = 4 * (data.count / 128 + 1) + 32
        var exchanges = 0, finished = false
        while !sender.isDone {
            exchanges += 1
            precondition(exchanges <= limit, "a transfer of \(data.count) bytes to the board did not end in \(limit) exchanges")
            let output = receiver.receive(toReceiver) { request in
                switch request {
                case .prepare(let file, let size):
                    precondition(file == name && size == data.count, "the board was asked for \(file), \(size) bytes")
                    return .prepared(length: size)
                case .save(let payload):
                    saved += payload
                    return .saved
                }
            }
            var toSender = output.reply
            if let ending = output.ending {
                precondition(ending == .received(name: name, length: data.count), "a transfer of \(data.count) bytes ended \(ending)")
                // The board validated the image: Ymodem_Serial_Flash_Update's ACK.
                toSender.append(YModemControl.ack)
            }
            let answer = sender.receive(toSender)
            for event in answer.events {
                switch event {
                case .aborted(let reason): preconditionFailure("our sender gave up on \(data.count) bytes to the board: \(reason)")
                case .refusedAtClose: preconditionFailure("the board took the image, yet the sender saw a refusal")
                case .finished: finished = true
                case .progress: break
                }
            }
            toReceiver = answer.send
            if toReceiver.isEmpty && !sender.isDone { preconditionFailure("our sender fell silent before the board closed") }
        }
        precondition(finished && receiver.ending == .received(name: name, length: data.count), "a transfer of \(data.count) bytes to the board stalled")
        precondition(Array(saved.prefix(data.count)) == data, "the board saved \(saved.count) bytes that do not begin with the \(data.count) sent")
        precondition(saved.count - data.count < blockSize, "the board saved \(saved.count) bytes for \(data.count)")
    }
}
