import ControlRequests
import Links
import SwiftProtobuf

/// `control-replies`: the bytes are a device's side of Particle's control requests, through a
/// `ScriptedControlPipe`: INIT and CHECK service replies (busy, pending, errors, sizes, result
/// codes), RECV chunks holding protobuf replies, failed transfers. The client's back-off sleep
/// is an injected no-op. Byte 0 picks the request (device id, system version, module info,
/// device mode, a firmware update of byte 1 × 8 bytes, reset, forced reset, a raw echo of
/// byte 1 bytes); the rest is the script. Checked: every service reply the client was given
/// that decodes re-encodes to one that decodes the same, and protobuf replies serialize, decode
/// again and serialize to the same bytes.
enum ControlRepliesTarget {
    static func run(_ bytes: [UInt8]) {
        runBlocking { await Self.session(bytes) }
    }

    static func session(_ bytes: [UInt8]) async {
        var input = FuzzReader(bytes)
        let operation = input.byte() ?? 0
        let size = Int(input.byte() ?? 0)
        let pipe = ScriptedControlPipe(script: input.rest())
        let client = ControlRequestClient(pipe: pipe, timeout: .seconds(60), transferTimeout: .seconds(1), sleep: { _ in })
        switch operation % 8 {
        case 0:
            _ = try? await client.deviceID()
        case 1:
            _ = try? await client.systemVersion()
        case 2:
            if let reply = try? await client.moduleInfo() { checkRoundTrip(reply) }
        case 3:
            _ = try? await client.deviceMode()
        case 4:
            try? await client.updateFirmware(pattern(size * 8))
        case 5:
            try? await client.reset()
        case 6:
            try? await client.reset(force: true)
        default:
            if let answer = try? await client.send(.echo, payload: pattern(size)) {
                // What a device answers, read as each reply the bench decodes.
                checkDecoded(Particle_Ctrl_GetModuleInfoReply.self, answer.reply)
                checkDecoded(Particle_Ctrl_GetDeviceIdReply.self, answer.reply)
                checkDecoded(Particle_Ctrl_GetDeviceModeReply.self, answer.reply)
                checkDecoded(Particle_Ctrl_StartFirmwareUpdateReply.self, answer.reply)
            }
        }
        checkServiceReplies(pipe.transfers)
    }

    static func checkServiceReplies(_ transfers: [ScriptedControlPipe.Transfer]) {
        let service = [ServiceRequest.initialize.rawValue, ServiceRequest.check.rawValue]
        for transfer in transfers where transfer.isIn && service.contains(transfer.setup.request) {
            guard let reply = try? ServiceReply(decoding: transfer.data) else { continue }
            let again = try? ServiceReply(decoding: reply.encoded)
            precondition(again == reply, "the service reply \(reply) re-encodes to one that decodes as \(String(describing: again))")
        }
    }

    static func checkDecoded<Reply: SwiftProtobuf.Message>(_ type: Reply.Type, _ bytes: [UInt8]) {
        guard let reply = try? Reply(serializedBytes: bytes) else { return }
        checkRoundTrip(reply)
    }

    static func checkRoundTrip<Reply: SwiftProtobuf.Message>(_ reply: Reply) {
        let once: [UInt8]
        do { once = try reply.serializedBytes() } catch { preconditionFailure("a decoded \(Reply.self) does not serialize: \(error)") }
        let again: Reply
        do { again = try Reply(serializedBytes: once) } catch { preconditionFailure("a serialized \(Reply.self) does not decode: \(error)") }
        let twice: [UInt8]
        do { twice = try again.serializedBytes() } catch { preconditionFailure("a decoded \(Reply.self) does not serialize: \(error)") }
        precondition(twice == once, "a \(Reply.self) serializes otherwise once decoded again")
    }
}
