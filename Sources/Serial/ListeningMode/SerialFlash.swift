import Firmware
import Links

/// What a board said after an image sent by listening mode's `f`.
public enum SerialFlashOutcome: Hashable, Sendable {
    /// "Downloaded file successfully!" (then, a second later, "Restarting system to apply
    /// firmware update..."): it took the image and resets to apply it.
    case restarting
    /// The board's reason, as printed: "Validation failed: -1330" after CAN CAN at the close,
    /// or a refusal of the header ("The file size is higher than the allowed space memory!").
    case refused(String)
    /// Neither, within the time given.
    case noAnswer
}

extension ListeningModeClient {
    /// The line the board prints when `f` starts its YMODEM receiver.
    static var flashPrompt: [UInt8] { Array(YModemText.prompt.utf8) }

    /// How long after the prompt to listen before sending, to a board whose Device OS release
    /// is not known: Device OS 6.x refuses 100 ms after it (CAN ×4, "Serial/YModem flashing is
    /// no longer supported"), and block 0 sent into that would be read by its console as keys.
    static var refusalWindow: Duration { .milliseconds(250) }

    /// `f`: asks the board to receive an image and waits (within `timeout`) for its prompt.
    /// Returns what followed the prompt line, which belongs to the transfer: hand it to
    /// `sendFirmware`. Throws `ListeningModeError.flashRefused` when the board refuses YMODEM.
    ///
    /// What comes after the prompt depends on the release, so the board is asked first (`v`)
    /// unless the caller says (`deviceOS`): before 6.0.0 Device OS's receiver says nothing until
    /// its 5 s timeout, and block 0 goes at once, as particle-cli sent it; from 6.0.0 the board
    /// always refuses, and its CANs are waited for, however long a busy line takes. Only a
    /// board whose version cannot be read is given `refusalWindow` to refuse in.
    public func requestFlash(deviceOS: DeviceOSVersion? = nil) async throws -> [UInt8] {
        var release = deviceOS
        if release == nil, let text = try? await systemVersion() { release = DeviceOSVersion(text) }
        while !(try await stream.read(maximum: 1 << 16, timeout: Self.settleTime)).isEmpty {}
        try await stream.write(Array(String(ListeningModeCommand.flash.rawValue).utf8))
        var said: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while true {
            if let prompt = said.firstRange(of: Self.flashPrompt), let end = said[prompt.upperBound...].firstIndex(of: UInt8(ascii: "\n")) {
                var after = Array(said[(end + 1)...])
                if release?.takesYModem == true { return after }
                // A 6.x board refuses: its CANs, within the client's timeout. One of unknown
                // release: whatever comes within the refusal window.
                let listenUntil = release == nil ? ContinuousClock.now + Self.refusalWindow : deadline
                while !after.contains(YModemControl.can), case let now = ContinuousClock.now, now < listenUntil {
                    after += try await stream.read(maximum: 4096, timeout: listenUntil - now)
                }
                if after.contains(YModemControl.can) {
                    let line = try await reasonLine(after)
                    throw ListeningModeError.flashRefused(line)
                }
                return after
            }
            let now = ContinuousClock.now
            guard now < deadline else {
                throw said.isEmpty ? ListeningModeError.noAnswer(.flash, timeout)
                                   : ListeningModeError.unparsable(.flash, String(decoding: said, as: UTF8.self))
            }
            said += try await stream.read(maximum: 4096, timeout: min(deadline - now, .milliseconds(50)))
            if said.count > Self.answerLimit { throw ListeningModeError.unparsable(.flash, String(decoding: said.prefix(200), as: UTF8.self)) }
        }
    }

    /// Sends `data` by YMODEM to the receiver `requestFlash` started; `afterPrompt` is what it
    /// returned. Block 0 goes at once, as particle-cli sent it, unless the receiver already
    /// asked with a `C`.
    @discardableResult
    public func sendFirmware(_ data: [UInt8], name: String, afterPrompt: [UInt8],
                             progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> YModemTransfer.Ending {
        let start: YModemSender.Start = afterPrompt.contains(YModemControl.crcRequest) ? .onRequest : .atOnce
        return try await YModemTransfer.send(name: name, data: data, over: PrefixedStream(prefix: afterPrompt, base: stream),
                                             start: start, progress: progress)
    }

    /// `f`, YMODEM, and the board's verdict, waited for up to `answerTimeout` (the board
    /// validates the image, says so, waits a second, says it restarts, and resets; its port
    /// then goes away). A board that cancels the transfer with a reason of its own (the header
    /// refused, say) gives `.refused` with it; one that cancels without a reason throws.
    public func flash(_ data: [UInt8], name: String, deviceOS: DeviceOSVersion? = nil, answerTimeout: Duration = .seconds(10),
                      progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> SerialFlashOutcome {
        let afterPrompt = try await requestFlash(deviceOS: deviceOS)
        do {
            let ending = try await sendFirmware(data, name: name, afterPrompt: afterPrompt, progress: progress)
            if ending == .refusedAtClose {
                let line = try await reasonLine([], within: answerTimeout)
                return .refused(line)
            }
        } catch let failure as YModemTransfer.Failure {
            // Cancelled mid-transfer: Device OS says why on the line after its CANs.
            guard let line = try? await reasonLine(failure.unread, within: .seconds(1)),
                  YModemText.refusals.contains(where: { line.contains($0) }) else { throw failure }
            if [YModemText.prepareFailed, YModemText.saveFailed].contains(where: { line.contains($0) }) { return .refused(line) }
            throw YModemTransfer.Failure(description: "\(failure.description); the board said: \(line)")
        }
        var said = ""
        var downloaded = false
        let deadline = ContinuousClock.now + answerTimeout
        while true {
            if let line = Self.lines(said).first(where: { line in YModemText.refusals.contains { line.contains($0) } }) { return .refused(line) }
            downloaded = downloaded || said.contains(YModemText.downloaded)
            if said.contains(YModemText.restarting) { return .restarting }
            // The line may go with the reset before "Restarting…" is read: the flushed
            // "Downloaded file successfully!" is the one a host can count on.
            guard ContinuousClock.now < deadline, let bytes = try? await stream.read(maximum: 4096, timeout: .milliseconds(100)) else {
                return downloaded ? .restarting : .noAnswer
            }
            said += String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The first whole line of text at or after `start` (CAN and ACK bytes and blank lines
    /// skipped), reading on for up to `within`: the board's reason after it cancelled.
    public func reasonLine(_ start: [UInt8] = [], within limit: Duration = .seconds(2)) async throws -> String {
        var said = start
        let deadline = ContinuousClock.now + limit
        while true {
            let text = String(decoding: said.filter { $0 != YModemControl.can && $0 != YModemControl.ack }, as: UTF8.self)
            let body = text.drop { $0.isWhitespace }
            if let end = body.firstIndex(where: \.isNewline) { return body[..<end].trimmingCharacters(in: .whitespaces) }
            let now = ContinuousClock.now
            guard now < deadline else {
                let partial = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if partial.isEmpty { throw ListeningModeError.noAnswer(.flash, limit) }
                return partial
            }
            said += try await stream.read(maximum: 4096, timeout: min(deadline - now, .milliseconds(100)))
        }
    }

    static func lines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
