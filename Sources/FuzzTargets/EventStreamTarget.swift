import Cloud
import Foundation

/// `event-stream`: the bytes are a `text/event-stream` body as the cloud (Particle's, or the
/// local one) streams events, to the cloud client's `ServerSentEventParser`, whole and in
/// small pieces: the messages must be the same. A named message written again with the
/// server's `format` must parse to itself (messages holding a carriage return are left out:
/// the format cannot carry one at a line's end), and the cloud event a message carries
/// (`cloudEvent(in:)`, what `CloudClient.events` yields) must survive its own JSON.
enum EventStreamTarget {
    static func run(_ bytes: [UInt8]) {
        var whole = ServerSentEventParser()
        let messages = whole.feed(bytes)
        var split = ServerSentEventParser()
        var pieces: [ServerSentEventParser.Message] = []
        for piece in chunks(of: bytes, sizes: [1, 2, 3, 7, 64]) { pieces += split.feed(piece) }
        precondition(pieces == messages, "the event stream parses otherwise when the same bytes come in other pieces")
        for message in messages {
            checkFormat(message)
            if let event = ServerSentEventParser.cloudEvent(in: message) { checkJSON(event) }
        }
    }

    static func checkFormat(_ message: ServerSentEventParser.Message) {
        let carriageReturn = UInt8(ascii: "\r")
        guard let event = message.event, !event.utf8.contains(carriageReturn), !message.data.utf8.contains(carriageReturn) else { return }
        var parser = ServerSentEventParser()
        let text = ServerSentEventParser.format(event: event, data: message.data)
        let again = parser.feed(Array(text.utf8))
        precondition(again == [message], "the event \(message) written as \(text.debugDescription) parses as \(again)")
    }

    static func checkJSON(_ event: CloudEvent) {
        let data: Data
        do { data = try JSONEncoder().encode(event) } catch { preconditionFailure("a cloud event does not encode: \(error)") }
        let again = try? JSONDecoder().decode(CloudEvent.self, from: data)
        precondition(again == event, "a cloud event does not survive its own JSON: \(String(decoding: data, as: UTF8.self))")
    }
}
