import Foundation
import Links
import SwiftProtobuf

/// The host side of Particle's control requests (§6.1): INIT, SEND in chunks, CHECK with
/// particle-usb's back-off until done, RECV; BUSY is retried, timeouts are bounded.
public struct ControlRequestClient: Sendable {
    public let pipe: any ControlPipe
    public var timeout: Duration
    public var transferTimeout: Duration
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(pipe: any ControlPipe, timeout: Duration = ControlTransport.defaultTimeout, transferTimeout: Duration = .seconds(5),
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.pipe = pipe
        self.timeout = timeout
        self.transferTimeout = transferTimeout
        self.sleep = sleep
    }

    /// One request: the device's result code and reply payload.
    public func send(_ type: ControlRequestType, payload: [UInt8] = []) async throws -> (result: Int32, reply: [UInt8]) {
        guard payload.count <= ControlTransport.maximumPayload else { throw ControlRequestError.payloadTooLarge(payload.count) }
        let deadline = ContinuousClock.now + timeout
        var attempt = 0
        var reply = try await service(.initialize, index: type.rawValue, value: UInt16(payload.count), type: type)
        while reply.status == .busy {
            guard ContinuousClock.now < deadline else { throw ControlRequestError.timedOut(type) }
            try await sleep(Self.backoff(attempt))
            attempt += 1
            reply = try await service(.initialize, index: type.rawValue, value: UInt16(payload.count), type: type)
        }
        guard let id = reply.id else { throw ControlRequestError.badReply(type, "INIT reply without an id") }
        attempt = 0
        while reply.status == .pending {
            guard ContinuousClock.now < deadline else { throw ControlRequestError.timedOut(type) }
            try await sleep(Self.backoff(attempt))
            attempt += 1
            reply = try await service(.check, index: id, type: type)
        }
        guard reply.status == .ok else { throw ControlRequestError.status(type, reply.status) }
        var offset = 0
        while offset < payload.count {
            let chunk = Array(payload[offset..<min(offset + ControlTransport.maximumChunk, payload.count)])
            try await pipe.controlOut(ControlSetup(requestType: ControlTransport.vendorOut, request: ServiceRequest.send.rawValue,
                                                   value: 0, index: id, length: UInt16(chunk.count)),
                                      data: chunk, timeout: transferTimeout)
            offset += chunk.count
        }
        attempt = 0
        var check = try await service(.check, index: id, type: type)
        while check.status == .pending || (check.status == .ok && check.result == nil) {
            guard ContinuousClock.now < deadline else { throw ControlRequestError.timedOut(type) }
            try await sleep(Self.backoff(attempt))
            attempt += 1
            check = try await service(.check, index: id, type: type)
        }
        guard check.status == .ok, let result = check.result else { throw ControlRequestError.status(type, check.status) }
        var data: [UInt8] = []
        if let size = check.size, size > 0 {
            while data.count < Int(size) {
                let length = min(ControlTransport.maximumChunk, Int(size) - data.count)
                let chunk = try await pipe.controlIn(ControlSetup(requestType: ControlTransport.vendorIn, request: ServiceRequest.receive.rawValue,
                                                                  value: 0, index: id, length: UInt16(length)), timeout: transferTimeout)
                guard !chunk.isEmpty else { throw ControlRequestError.badReply(type, "empty RECV") }
                data += chunk
            }
        }
        return (result, data)
    }

    /// A request that must succeed, with a protobuf reply.
    public func request<Reply: SwiftProtobuf.Message>(_ type: ControlRequestType, _ message: some SwiftProtobuf.Message,
                                                       reply: Reply.Type) async throws -> Reply {
        let (result, data) = try await send(type, payload: try message.serializedBytes())
        guard result == 0 else { throw ControlRequestError.failed(type, result: result) }
        do { return try Reply(serializedBytes: data) } catch { throw ControlRequestError.badReply(type, "\(error)") }
    }

    /// A request without payloads that must succeed.
    public func perform(_ type: ControlRequestType) async throws {
        let (result, _) = try await send(type)
        guard result == 0 else { throw ControlRequestError.failed(type, result: result) }
    }

    // MARK: Requests the bench uses

    public func deviceID() async throws -> String {
        try await request(.deviceID, Particle_Ctrl_GetDeviceIdRequest(), reply: Particle_Ctrl_GetDeviceIdReply.self).id
    }

    /// SYSTEM_VERSION by the raw 0x50 request, as particle-usb does.
    public func systemVersion() async throws -> String {
        let bytes = try await pipe.controlIn(ControlSetup(requestType: ControlTransport.vendorIn, request: RawVendorRequest.request,
                                                          value: 0, index: RawVendorRequest.systemVersion, length: 64), timeout: transferTimeout)
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    public func moduleInfo() async throws -> Particle_Ctrl_GetModuleInfoReply {
        try await request(.moduleInfo, Particle_Ctrl_GetModuleInfoRequest(), reply: Particle_Ctrl_GetModuleInfoReply.self)
    }

    /// A polite reset, or with `force` the raw 0x50 reset that acts even when the device is busy.
    public func reset(force: Bool = false) async throws {
        if force {
            try await pipe.controlOut(ControlSetup(requestType: ControlTransport.vendorOut, request: RawVendorRequest.request,
                                                   value: 0, index: RawVendorRequest.reset, length: 0), data: [], timeout: transferTimeout)
        } else {
            try await perform(.reset)
        }
    }

    public func enterDFU() async throws { try await perform(.dfuMode) }
    public func enterSafeMode() async throws { try await perform(.safeMode) }
    public func startListening() async throws { try await perform(.startListening) }
    public func stopListening() async throws { try await perform(.stopListening) }

    public func deviceMode() async throws -> Particle_Ctrl_DeviceMode {
        try await request(.getDeviceMode, Particle_Ctrl_GetDeviceModeRequest(), reply: Particle_Ctrl_GetDeviceModeReply.self).mode
    }

    /// OTA over USB (§6.3): START with the size, DATA in the device's chunk size, FINISH.
    /// Any failure cancels the transfer on the device. `progress` is awaited after each chunk, before
    /// the next is sent: a caller can act at an exact offset (a power cut lands there).
    /// `stopAfter` sends only that many bytes before FINISH: a transfer cut short by the host.
    public func updateFirmware(_ image: [UInt8], validateOnly: Bool = false, stopAfter: Int? = nil,
                               progress: (@Sendable (Int, Int) async -> Void)? = nil) async throws {
        let start = try await request(.startFirmwareUpdate,
                                      Particle_Ctrl_StartFirmwareUpdateRequest.with { $0.size = UInt32(image.count) },
                                      reply: Particle_Ctrl_StartFirmwareUpdateReply.self)
        let chunk = max(1, Int(start.chunkSize))
        do {
            var offset = 0
            let limit = min(stopAfter ?? image.count, image.count)
            while offset < limit {
                let end = min(offset + chunk, limit)
                let data = Data(image[offset..<end])
                _ = try await request(.firmwareUpdateData, Particle_Ctrl_FirmwareUpdateDataRequest.with { $0.data = data },
                                      reply: Particle_Ctrl_FirmwareUpdateDataReply.self)
                offset = end
                await progress?(offset, image.count)
            }
            _ = try await request(.finishFirmwareUpdate, Particle_Ctrl_FinishFirmwareUpdateRequest.with { $0.validateOnly = validateOnly },
                                  reply: Particle_Ctrl_FinishFirmwareUpdateReply.self)
        } catch let error as ControlRequestError {
            if case .failed = error {} else { _ = try? await send(.cancelFirmwareUpdate) }
            throw error
        }
    }

    private func service(_ request: ServiceRequest, index: UInt16, value: UInt16 = 0, type: ControlRequestType) async throws -> ServiceReply {
        let bytes = try await pipe.controlIn(ControlSetup(requestType: ControlTransport.vendorIn, request: request.rawValue,
                                                          value: value, index: index, length: ControlTransport.serviceReplyLength),
                                             timeout: transferTimeout)
        do { return try ServiceReply(decoding: bytes) } catch { throw ControlRequestError.badReply(type, "\(error)") }
    }

    static func backoff(_ attempt: Int) -> Duration {
        attempt < ControlTransport.checkBackoff.count ? ControlTransport.checkBackoff[attempt] : .seconds(1)
    }
}
