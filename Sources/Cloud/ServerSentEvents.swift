import Foundation

/// The `text/event-stream` format (WHATWG HTML, "Server-sent events"): `event:` and `data:`
/// lines, a blank line ends a message, lines starting with `:` are comments (keep-alives).
public struct ServerSentEventParser: Sendable {
    public struct Message: Hashable, Sendable {
        public var event: String?
        public var data: String

        public init(event: String?, data: String) {
            self.event = event
            self.data = data
        }
    }

    private var line: [UInt8] = []
    private var event: String?
    private var data: [String] = []

    public init() {}

    /// Takes bytes as they arrive; returns the messages they complete.
    public mutating func feed(_ bytes: [UInt8]) -> [Message] {
        var messages: [Message] = []
        for byte in bytes {
            guard byte == UInt8(ascii: "\n") else { line.append(byte); continue }
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            let text = String(decoding: line, as: UTF8.self)
            line.removeAll(keepingCapacity: true)
            if text.isEmpty {
                if event != nil || !data.isEmpty { messages.append(Message(event: event, data: data.joined(separator: "\n"))) }
                event = nil
                data = []
            } else if text.hasPrefix(":") {
                continue
            } else {
                let (field, value) = Self.split(text)
                switch field {
                case "event": event = value
                case "data": data.append(value)
                default: break
                }
            }
        }
        return messages
    }

    static func split(_ text: String) -> (String, String) {
        guard let colon = text.firstIndex(of: ":") else { return (text, "") }
        var value = text[text.index(after: colon)...]
        if value.first == " " { value = value.dropFirst() }
        return (String(text[..<colon]), String(value))
    }

    /// One message in the format, as the server writes it.
    public static func format(event: String, data: String) -> String {
        "event: \(event)\n" + data.split(separator: "\n", omittingEmptySubsequences: false).map { "data: \($0)\n" }.joined() + "\n"
    }
}

extension ServerSentEventParser {
    /// The cloud event a message carries: a named message whose data is the event's JSON, the
    /// name taken from the `event:` line (Particle's data has none; a name in the data is
    /// ignored). Nil for anything else (a message without an `event:` line, data that is not an
    /// event), which a reader of the stream skips.
    package static func cloudEvent(in message: Message) -> CloudEvent? {
        guard let name = message.event else { return nil }
        guard var event = try? JSONDecoder().decode(CloudEvent.self, from: Data(message.data.utf8)) else { return nil }
        event.name = name
        return event
    }

    /// An event as Particle's cloud streams it: the name on the `event:` line, the data JSON
    /// `{"data", "ttl", "published_at", "coreid"}` without the name.
    package static func format(_ event: CloudEvent) -> String {
        struct Payload: Encodable {
            var data: String
            var ttl: Int
            var publishedAt: String
            var coreid: String

            enum CodingKeys: String, CodingKey {
                case data, ttl, coreid
                case publishedAt = "published_at"
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = Payload(data: event.data, ttl: event.ttl, publishedAt: event.publishedAt, coreid: event.coreid)
        // Encoding four strings and an integer cannot fail.
        let json = (try? encoder.encode(payload)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return format(event: event.name, data: json)
    }
}
