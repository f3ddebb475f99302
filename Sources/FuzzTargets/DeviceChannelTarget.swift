import CloudOTA
import NIOCore
import NIOEmbedded

/// `device-channel`: the bytes are what arrives on a device channel after TLS, to the frame
/// decoder (`DeviceMessageDecoder` in a `ByteToMessageHandler`, on an `EmbeddedChannel`), once
/// whole and once in small pieces: the messages and whether the channel failed must be the
/// same. Each message must go out through `DeviceMessageEncoder` as a frame whose length is
/// right and that decodes to the same message (unless it no longer fits a frame: text that was
/// not UTF-8 comes back longer, as replacement characters).
enum DeviceChannelTarget {
    struct Outcome: Equatable {
        var messages: [DeviceMessage] = []
        var failed = false
    }

    static func run(_ bytes: [UInt8]) {
        let whole = decode([bytes])
        let pieces = decode(chunks(of: bytes, sizes: [1, 3, 7, 64, 2]))
        precondition(whole == pieces, "the device channel decodes otherwise when the same bytes come in other pieces")
        for message in whole.messages { checkRoundTrip(message) }
    }

    static func decode(_ pieces: [[UInt8]]) -> Outcome {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(DeviceMessageDecoder()))
        var outcome = Outcome()
        for piece in pieces {
            do { try channel.writeInbound(ByteBuffer(bytes: piece)) } catch {
                outcome.failed = true
                break
            }
        }
        while let message = try? channel.readInbound(as: DeviceMessage.self) { outcome.messages.append(message) }
        // Closing runs the decoder's end of stream: bytes of a frame cut short fail it.
        do { _ = try channel.finish(acceptAlreadyClosed: true) } catch { outcome.failed = true }
        return outcome
    }

    static func checkRoundTrip(_ message: DeviceMessage) {
        var frame = ByteBuffer()
        do { try DeviceMessageEncoder().encode(data: message, out: &frame) } catch {
            preconditionFailure("a decoded device message does not encode: \(error)")
        }
        let length = frame.getInteger(at: frame.readerIndex, as: UInt32.self)
        precondition(length.map { Int($0) == frame.readableBytes - 4 } ?? false, "a device message frame's length is not its size")
        guard frame.readableBytes - 4 <= DeviceMessage.maximumFrameLength else { return }
        frame.moveReaderIndex(forwardBy: 4)
        let again: DeviceMessage
        do { again = try DeviceMessage(from: &frame) } catch {
            preconditionFailure("an encoded device message does not decode: \(error)")
        }
        precondition(again == message, "the device message \(message) comes back as \(again)")
    }
}
