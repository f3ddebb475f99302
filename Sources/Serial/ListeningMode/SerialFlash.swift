import Links

/// What a board said after an image sent by listening mode's `f`.
public enum SerialFlashOutcome: Hashable, Sendable {
    /// "Restarting system to apply firmware update...": it took the image and resets to apply it.
    case restarting
    /// "Update failed: …", the line as printed.
    case refused(String)
    /// Neither, within the time given.
    case noAnswer
}

extension ListeningModeClient {
    /// The line the board prints when `f` starts its YMODEM receiver.
    static var flashPrompt: [UInt8] { Array("Waiting for the binary file".utf8) }

    /// `f`: asks the board to receive an image and waits (within `timeout`) for its prompt.
    /// Returns what followed the prompt line (the receiver's first "C"), which belongs to the
    /// transfer: hand it to `sendFirmware`.
    public func requestFlash() async throws -> [UInt8] {
        while !(try await stream.read(maximum: 1 << 16, timeout: Self.settleTime)).isEmpty {}
        try await stream.write(Array(String(ListeningModeCommand.flash.rawValue).utf8))
        var said: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while true {
            if let prompt = said.firstRange(of: Self.flashPrompt), let end = said[prompt.upperBound...].firstIndex(of: UInt8(ascii: "\n")) {
                return Array(said[(end + 1)...])
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

    /// Sends `data` by YMODEM to the receiver `requestFlash` started; `afterPrompt` is what it returned.
    public func sendFirmware(_ data: [UInt8], name: String, afterPrompt: [UInt8], progress: (@Sendable (Int, Int) -> Void)? = nil) async throws {
        try await YModemTransfer.send(name: name, data: data, over: PrefixedStream(prefix: afterPrompt, base: stream), progress: progress)
    }

    /// `f`, YMODEM, and the board's verdict, waited for up to `answerTimeout` (the board
    /// validates the image, says so, and restarts; its port then goes away).
    public func flash(_ data: [UInt8], name: String, answerTimeout: Duration = .seconds(10),
                      progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> SerialFlashOutcome {
        let afterPrompt = try await requestFlash()
        try await sendFirmware(data, name: name, afterPrompt: afterPrompt, progress: progress)
        var said = ""
        let deadline = ContinuousClock.now + answerTimeout
        while true {
            if let failure = said.split(whereSeparator: \.isNewline).first(where: { $0.contains("Update failed") }) {
                return .refused(failure.trimmingCharacters(in: .whitespaces))
            }
            if said.contains("Restarting system") { return .restarting }
            guard ContinuousClock.now < deadline, let bytes = try? await stream.read(maximum: 4096, timeout: .milliseconds(100)) else {
                return .noAnswer
            }
            said += String(decoding: bytes, as: UTF8.self)
        }
    }
}
