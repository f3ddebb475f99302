import Firmware
import Foundation
import Links

/// Asks a board in listening mode what it is, through the single-key commands of §7, and
/// parses the answers into values.
public struct ListeningModeClient<Stream: ByteStream>: Sendable {
    public let stream: Stream
    /// How long a board may take to answer a command.
    public var timeout: Duration
    /// Silence that marks the end of an answer whose length is not known in advance (`i`).
    public var quietPeriod: Duration

    public init(stream: Stream, timeout: Duration = .seconds(5), quietPeriod: Duration = .milliseconds(150)) {
        self.stream = stream
        self.timeout = timeout
        self.quietPeriod = quietPeriod
    }

    /// `i`: the device id and the platform's extra lines (IMEI, ICCID, serial number…).
    public func identify() async throws -> DeviceIdentity {
        let text = try await ask(.identify) { text in
            DeviceIdentity.parse(text) != nil ? .afterQuiet : .incomplete
        }
        guard let identity = DeviceIdentity.parse(text) else { throw ListeningModeError.unparsable(.identify, text) }
        return identity
    }

    /// `v`: the Device OS version the board reports ("5.8.0").
    public func systemVersion() async throws -> String {
        let text = try await ask(.version) { Self.version(in: $0) != nil ? .complete : .incomplete }
        guard let version = Self.version(in: text) else { throw ListeningModeError.unparsable(.version, text) }
        return version
    }

    /// `m`: the MAC address, as xx:xx:xx:xx:xx:xx.
    public func macAddress() async throws -> String {
        let text = try await ask(.macAddress) { Self.macAddress(in: $0) != nil ? .complete : .incomplete }
        guard let address = Self.macAddress(in: text) else { throw ListeningModeError.unparsable(.macAddress, text) }
        return address
    }

    /// `s`: the module table, as the Firmware module's type.
    public func moduleTable() async throws -> ModuleTableDescription {
        let text = try await ask(.modules) { Self.jsonObject(in: $0) != nil ? .complete : .incomplete }
        guard let json = Self.jsonObject(in: text) else { throw ListeningModeError.unparsable(.modules, text) }
        do { return try ModuleTableDescription.parse(json) } catch {
            throw ListeningModeError.unparsable(.modules, json)
        }
    }

    /// `x`: leaves listening mode. The board answers nothing.
    public func exit() async throws {
        try await stream.write(Array("x".utf8))
    }

    // MARK: Answers

    enum Progress { case incomplete, complete, afterQuiet }

    /// Sends `command` and collects the answer until `progress` says it is whole.
    func ask(_ command: ListeningModeCommand, progress: (String) -> Progress) async throws -> String {
        // What the board printed before the question is not part of the answer: wait for a
        // moment of silence (a port just opened may still be delivering it).
        while !(try await stream.read(maximum: 1 << 16, timeout: Self.settleTime)).isEmpty {}
        try await stream.write(Array(String(command.rawValue).utf8))
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = String(decoding: received, as: UTF8.self)
            switch progress(text) {
            case .complete:
                return text
            case .afterQuiet:
                let more = try await stream.read(maximum: 1 << 16, timeout: quietPeriod)
                if more.isEmpty { return text }
                received += more
                continue
            case .incomplete:
                break
            }
            let now = ContinuousClock.now
            guard now < deadline else {
                throw received.isEmpty ? ListeningModeError.noAnswer(command, timeout) : ListeningModeError.unparsable(command, text)
            }
            received += try await stream.read(maximum: 1 << 16, timeout: deadline - now)
            if received.count > Self.answerLimit { throw ListeningModeError.unparsable(command, String(text.prefix(200))) }
        }
    }

    static var settleTime: Duration { .milliseconds(20) }

    /// No answer of §7 comes near this; a stream that runs on is not a listening-mode board.
    static var answerLimit: Int { 1 << 20 }

    static func version(in text: String) -> String? {
        guard let range = text.range(of: "system firmware version: ") else { return nil }
        let rest = text[range.upperBound...]
        // "\r\n" is one Character: look for any newline.
        guard let end = rest.firstIndex(where: \.isNewline) else { return nil }
        let version = rest[..<end].trimmingCharacters(in: .whitespaces)
        return version.isEmpty ? nil : version
    }

    static func macAddress(in text: String) -> String? {
        guard let range = text.range(of: #"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}"#, options: .regularExpression) else { return nil }
        return text[range].lowercased()
    }

    /// The first complete JSON object in `text`: braces balanced outside strings.
    static func jsonObject(in text: String) -> String? {
        let bytes = Array(text.utf8)
        guard let start = bytes.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        var depth = 0
        var inString = false
        var escaped = false
        for index in start..<bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { return String(decoding: bytes[start...index], as: UTF8.self) }
            default: break
            }
        }
        return nil
    }
}

/// What `i` tells: the device id, and the lines that follow it.
public struct DeviceIdentity: Hashable, Sendable {
    public var deviceID: String
    /// "IMEI", "ICCID", "Serial Number"… as the board printed them.
    public var details: [String: String]

    /// Current Device OS prints "Device ID: <24 hex>"; older releases "Your device id is <id>".
    static func parse(_ text: String) -> DeviceIdentity? {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        var deviceID: String?
        var details: [String: String] = [:]
        for line in lines {
            for marker in ["Device ID:", "Your device id is"] where line.hasPrefix(marker) {
                let id = line.dropFirst(marker.count).trimmingCharacters(in: .whitespaces).lowercased()
                if DeviceID.isValid(id) { deviceID = id }
            }
            if deviceID != nil, !line.hasPrefix("Device ID:"), let colon = line.firstIndex(of: ":") {
                details[String(line[..<colon]).trimmingCharacters(in: .whitespaces)] =
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
        }
        return deviceID.map { DeviceIdentity(deviceID: $0, details: details) }
    }
}

public enum ListeningModeError: Error, Hashable, Sendable, CustomStringConvertible {
    case noAnswer(ListeningModeCommand, Duration)
    case unparsable(ListeningModeCommand, String)
    /// `f` answered with CAN and this line: Device OS 6.0.0 and later take no firmware by YMODEM.
    case flashRefused(String)

    public var description: String {
        switch self {
        case .noAnswer(let command, let timeout):
            "the board did not answer '\(command.rawValue)' within \(timeout): is it in listening mode (blinking dark blue)?"
        case .unparsable(let command, let text):
            "the board's answer to '\(command.rawValue)' makes no sense: \(text.debugDescription.prefix(200))"
        case .flashRefused(let line):
            "the board refused YMODEM (\(line)): Device OS 6.0.0 and later take firmware by DFU, USB or the cloud"
        }
    }
}
