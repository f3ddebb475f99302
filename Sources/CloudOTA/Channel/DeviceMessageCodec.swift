import NIOCore

/// Frames on the device channel: a 4-byte big-endian length, then one `DeviceMessage`.
/// A frame longer than `DeviceMessage.maximumFrameLength`, or one that does not decode, closes
/// the connection with the reason: a peer speaking something else is never waited for.
public struct DeviceMessageDecoder: ByteToMessageDecoder {
    public typealias InboundOut = DeviceMessage

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length <= DeviceMessage.maximumFrameLength else {
            throw DeviceMessageError("a frame of \(length) bytes is over the \(DeviceMessage.maximumFrameLength)-byte limit")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        var frame = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(wrapInboundOut(try DeviceMessage(from: &frame)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

public struct DeviceMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = DeviceMessage

    public init() {}

    public func encode(data: DeviceMessage, out: inout ByteBuffer) throws {
        let lengthAt = out.writerIndex
        out.writeInteger(UInt32(0))
        data.write(to: &out)
        out.setInteger(UInt32(out.writerIndex - lengthAt - 4), at: lengthAt)
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// The message codec, after TLS.
    public func addDeviceMessageCodec() throws {
        try addHandler(ByteToMessageHandler(DeviceMessageDecoder()))
        try addHandler(MessageToByteHandler(DeviceMessageEncoder()))
    }
}
