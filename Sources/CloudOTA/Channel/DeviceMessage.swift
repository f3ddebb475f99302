import NIOCore

/// What a device and the cloud say to each other over the device channel: the device's hello,
/// events both ways (§8.3), and the cloud's OTA v3 requests with the device's answers (§8.2).
/// Particle carries these as CoAP messages; the bench frames them itself, one per frame.
public enum DeviceMessage: Hashable, Sendable {
    /// The device's first message in a session: who it is and what it runs.
    case hello(DeviceHello)
    /// A system event: `particle/device/updates/enabled` from the device; `…/pending`,
    /// `…/forced` from the cloud.
    case event(name: String, data: String)
    /// The cloud asks; the device answers with a `response` carrying the same id.
    case request(id: UInt32, DeviceRequest)
    case response(id: UInt32, DeviceResponse)
}

public struct DeviceHello: Hashable, Sendable {
    public var deviceID: String
    public var platformID: UInt16
    /// The product firmware version of the application it runs (from the module's suffix).
    public var productVersion: Int?
    /// Whether its application lets updates in (`System.updatesEnabled()`), re-published at
    /// every connect because the flag resets at boot.
    public var updatesEnabled: Bool
    /// Whether it holds the cloud's forced flag (echoed at connect, §8.3).
    public var updatesForced: Bool
    /// Its OTA chunk size, advertised in Particle's Hello too.
    public var otaChunkSize: Int

    public init(deviceID: String, platformID: UInt16, productVersion: Int?, updatesEnabled: Bool, updatesForced: Bool = false, otaChunkSize: Int = 512) {
        self.deviceID = deviceID
        self.platformID = platformID
        self.productVersion = productVersion
        self.updatesEnabled = updatesEnabled
        self.updatesForced = updatesForced
        self.otaChunkSize = otaChunkSize
    }
}

/// OTA protocol v3's three requests.
public enum DeviceRequest: Hashable, Sendable {
    case updateStart(size: Int, sha256: [UInt8], chunkSize: Int)
    case updateChunk(index: Int, data: [UInt8])
    case updateFinish(cancel: Bool)
}

public enum DeviceResponse: Hashable, Sendable {
    /// UpdateStart accepted: send from this byte offset.
    case started(offset: Int)
    case acknowledged(upTo: Int, selective: [Int])
    /// UpdateFinish: the file checked out and the device applies it (it resets next).
    case finished
    /// The device refused the request (updates disabled, a bad SHA-256, no update running…).
    case refused(String)
}

/// A frame that is not a message this side understands.
public struct DeviceMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension DeviceMessage {
    /// Frames are at most this long: a 512-byte chunk is far below, and a peer announcing more
    /// is refused before anything is buffered.
    public static let maximumFrameLength = 64 * 1024

    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .hello(let hello):
            buffer.writeInteger(UInt8(1))
            buffer.writeShortString(hello.deviceID)
            buffer.writeInteger(hello.platformID)
            buffer.writeInteger(Int32(hello.productVersion ?? -1))
            buffer.writeInteger(UInt8(hello.updatesEnabled ? 1 : 0))
            buffer.writeInteger(UInt8(hello.updatesForced ? 1 : 0))
            buffer.writeInteger(UInt32(hello.otaChunkSize))
        case .event(let name, let data):
            buffer.writeInteger(UInt8(2))
            buffer.writeShortString(name)
            buffer.writeShortString(data)
        case .request(let id, let request):
            buffer.writeInteger(UInt8(3))
            buffer.writeInteger(id)
            switch request {
            case .updateStart(let size, let sha256, let chunkSize):
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(UInt32(size))
                buffer.writeBytes(sha256)
                buffer.writeInteger(UInt32(chunkSize))
            case .updateChunk(let index, let data):
                buffer.writeInteger(UInt8(2))
                buffer.writeInteger(UInt32(index))
                buffer.writeInteger(UInt32(data.count))
                buffer.writeBytes(data)
            case .updateFinish(let cancel):
                buffer.writeInteger(UInt8(3))
                buffer.writeInteger(UInt8(cancel ? 1 : 0))
            }
        case .response(let id, let response):
            buffer.writeInteger(UInt8(4))
            buffer.writeInteger(id)
            switch response {
            case .started(let offset):
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(UInt32(offset))
            case .acknowledged(let upTo, let selective):
                buffer.writeInteger(UInt8(2))
                buffer.writeInteger(UInt32(upTo))
                buffer.writeInteger(UInt16(selective.count))
                for index in selective { buffer.writeInteger(UInt32(index)) }
            case .finished:
                buffer.writeInteger(UInt8(3))
            case .refused(let reason):
                buffer.writeInteger(UInt8(4))
                buffer.writeShortString(reason)
            }
        }
    }

    /// Reads one message that fills `buffer` exactly.
    public init(from buffer: inout ByteBuffer) throws(DeviceMessageError) {
        let tag = try buffer.read(UInt8.self, "message type")
        switch tag {
        case 1:
            let id = try buffer.readShortString("device id")
            let platform = try buffer.read(UInt16.self, "platform id")
            let version = try buffer.read(Int32.self, "product version")
            let enabled = try buffer.read(UInt8.self, "updates enabled")
            let forced = try buffer.read(UInt8.self, "updates forced")
            let chunk = try buffer.read(UInt32.self, "chunk size")
            self = .hello(DeviceHello(deviceID: id, platformID: platform, productVersion: version < 0 ? nil : Int(version),
                                      updatesEnabled: enabled != 0, updatesForced: forced != 0, otaChunkSize: Int(chunk)))
        case 2:
            self = .event(name: try buffer.readShortString("event name"), data: try buffer.readShortString("event data"))
        case 3:
            let id = try buffer.read(UInt32.self, "request id")
            switch try buffer.read(UInt8.self, "request type") {
            case 1:
                let size = try buffer.read(UInt32.self, "file size")
                guard let sha = buffer.readBytes(length: 32) else { throw DeviceMessageError("the SHA-256 is cut short") }
                let chunk = try buffer.read(UInt32.self, "chunk size")
                self = .request(id: id, .updateStart(size: Int(size), sha256: sha, chunkSize: Int(chunk)))
            case 2:
                let index = try buffer.read(UInt32.self, "chunk index")
                let count = try buffer.read(UInt32.self, "chunk length")
                guard let data = buffer.readBytes(length: Int(count)) else { throw DeviceMessageError("chunk \(index) is cut short") }
                self = .request(id: id, .updateChunk(index: Int(index), data: data))
            case 3:
                self = .request(id: id, .updateFinish(cancel: try buffer.read(UInt8.self, "cancel flag") != 0))
            case let other:
                throw DeviceMessageError("unknown request type \(other)")
            }
        case 4:
            let id = try buffer.read(UInt32.self, "response id")
            switch try buffer.read(UInt8.self, "response type") {
            case 1:
                self = .response(id: id, .started(offset: Int(try buffer.read(UInt32.self, "offset"))))
            case 2:
                let upTo = try buffer.read(UInt32.self, "acknowledged chunk")
                let count = try buffer.read(UInt16.self, "selective count")
                var selective: [Int] = []
                for _ in 0..<count { selective.append(Int(try buffer.read(UInt32.self, "selective chunk"))) }
                self = .response(id: id, .acknowledged(upTo: Int(upTo), selective: selective))
            case 3:
                self = .response(id: id, .finished)
            case 4:
                self = .response(id: id, .refused(try buffer.readShortString("reason")))
            case let other:
                throw DeviceMessageError("unknown response type \(other)")
            }
        default:
            throw DeviceMessageError("unknown message type \(tag)")
        }
        guard buffer.readableBytes == 0 else { throw DeviceMessageError("\(buffer.readableBytes) bytes after the message") }
    }
}

extension ByteBuffer {
    fileprivate mutating func writeShortString(_ text: String) {
        let bytes = Array(text.utf8.prefix(Int(UInt16.max)))
        writeInteger(UInt16(bytes.count))
        writeBytes(bytes)
    }

    fileprivate mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(DeviceMessageError) -> T {
        guard let value = readInteger(as: T.self) else { throw DeviceMessageError("the \(what) is cut short") }
        return value
    }

    fileprivate mutating func readShortString(_ what: String) throws(DeviceMessageError) -> String {
        let count = try read(UInt16.self, what + "'s length")
        guard let text = readString(length: Int(count)) else { throw DeviceMessageError("the \(what) is cut short") }
        return text
    }
}
