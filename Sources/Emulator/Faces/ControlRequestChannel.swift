import Foundation
import ControlRequests
import Firmware
import Links
import SwiftProtobuf

/// Device OS's USB control-request channel (§6.1, usb_control_request_channel.cpp): the
/// INIT/CHECK/SEND/RECV/RESET handshake, at most four requests at once, device-assigned ids,
/// and the raw 0x50 requests. Lives in the board's RAM.
public struct ControlRequestChannel: Sendable {
    struct Request: Sendable {
        var type: UInt16
        var expected: Int
        var payload: [UInt8] = []
        var done = false
        var result: Int32 = 0
        var reply: [UInt8] = []
        var sent = 0
        var afterReply: AfterReply?
    }

    /// What a handler does once its reply has reached the host.
    enum AfterReply: Sendable {
        case reset(ResetReason)
        case enterDFU
        case enterSafeMode
        case applyUpdate([FirmwareModule])
    }

    var requests: [UInt16: Request] = [:]
    var nextID: UInt16 = 1

    public init() {}

    public var activeRequests: Int { requests.count }
}

extension BoardModel {
    /// Vendor requests to the device recipient while Device OS runs.
    public mutating func vendorControl(_ setup: ControlSetup, data: [UInt8]) -> ControlReply {
        guard runsDeviceOS else { return .stall }
        if setup.request == RawVendorRequest.request { return rawVendorRequest(setup) }
        guard let service = ServiceRequest(rawValue: setup.request) else { return .stall }
        switch (setup.requestType, service) {
        case (ControlTransport.vendorIn, .initialize): return initialize(setup)
        case (ControlTransport.vendorIn, .check): return check(setup)
        case (ControlTransport.vendorOut, .send): return send(setup, data: data)
        case (ControlTransport.vendorIn, .receive): return receive(setup)
        case (ControlTransport.vendorIn, .reset): return cancel(setup)
        default: return .stall
        }
    }

    private mutating func rawVendorRequest(_ setup: ControlSetup) -> ControlReply {
        switch (setup.requestType, setup.index) {
        case (ControlTransport.vendorIn, RawVendorRequest.deviceID):
            return .data(Array(deviceID.utf8.prefix(Int(setup.length))))
        case (ControlTransport.vendorIn, RawVendorRequest.systemVersion):
            return .data(Array(deviceOS.description.utf8.prefix(Int(setup.length))))
        case (ControlTransport.vendorOut, RawVendorRequest.reset):
            // Immediate, even while busy; the host may see an error (§6.1).
            reset(.user)
            return .data([])
        case (ControlTransport.vendorOut, RawVendorRequest.cloudDisconnect):
            return .data([])
        default:
            return .stall
        }
    }

    private mutating func initialize(_ setup: ControlSetup) -> ControlReply {
        guard setup.length >= ControlTransport.serviceReplyLength else { return .stall }
        if control.requests.count >= ControlTransport.maximumActiveRequests {
            return .data(ServiceReply(status: .busy).encoded)
        }
        let id = control.nextID
        control.nextID = control.nextID == UInt16.max ? 1 : control.nextID + 1  // id 0 is invalid
        control.requests[id] = ControlRequestChannel.Request(type: setup.index, expected: Int(setup.value))
        if setup.value == 0 {
            run(id)
            return .data(ServiceReply(status: .ok, id: id).encoded)
        }
        // Larger payloads get a buffer allocated later; the emulator has it ready by the first CHECK.
        let status: ServiceStatus = Int(setup.value) <= ControlTransport.pooledBufferSize ? .ok : .pending
        return .data(ServiceReply(status: status, id: id).encoded)
    }

    private mutating func check(_ setup: ControlSetup) -> ControlReply {
        guard setup.length >= ControlTransport.serviceReplyLength else { return .stall }
        guard let request = control.requests[setup.index] else { return .data(ServiceReply(status: .notFound).encoded) }
        guard request.done else { return .data(ServiceReply(status: .ok).encoded) }  // waiting for the payload
        let reply = ServiceReply(status: .ok, size: request.reply.isEmpty ? nil : UInt32(request.reply.count), result: request.result)
        if request.reply.isEmpty { finish(setup.index) }
        return .data(reply.encoded)
    }

    private mutating func send(_ setup: ControlSetup, data: [UInt8]) -> ControlReply {
        guard var request = control.requests[setup.index], !request.done,
              request.payload.count + data.count <= request.expected
        else { return .stall }
        request.payload += data
        control.requests[setup.index] = request
        if request.payload.count == request.expected { run(setup.index) }
        return .data([])
    }

    private mutating func receive(_ setup: ControlSetup) -> ControlReply {
        guard var request = control.requests[setup.index], request.done, request.sent < request.reply.count else { return .stall }
        let end = min(request.sent + Int(setup.length), request.reply.count)
        let chunk = Array(request.reply[request.sent..<end])
        request.sent = end
        control.requests[setup.index] = request
        if end == request.reply.count { finish(setup.index) }
        return .data(chunk)
    }

    private mutating func cancel(_ setup: ControlSetup) -> ControlReply {
        guard setup.length >= ControlTransport.serviceReplyLength else { return .stall }
        if setup.index == 0 {
            control.requests.removeAll()
            return .data(ServiceReply(status: .ok).encoded)
        }
        guard control.requests.removeValue(forKey: setup.index) != nil else { return .data(ServiceReply(status: .notFound).encoded) }
        return .data(ServiceReply(status: .ok).encoded)
    }

    /// The host has the whole reply: forget the request and do what the handler left for later.
    private mutating func finish(_ id: UInt16) {
        guard let request = control.requests.removeValue(forKey: id), let action = request.afterReply else { return }
        switch action {
        case .reset(let reason): reset(reason)
        case .enterDFU: enterDFUMode()
        case .enterSafeMode:
            storage.phase = .external
            try? storage.writeDCT { $0.safeModeRequested = true }
            reset(.safeMode)
        case .applyUpdate(let modules): applyUpdate(modules)
        }
    }

    private mutating func run(_ id: UInt16) {
        guard var request = control.requests[id] else { return }
        let outcome = handle(type: request.type, payload: request.payload)
        request.done = true
        request.result = outcome.result.rawValue
        request.reply = outcome.reply
        request.afterReply = outcome.afterReply
        control.requests[id] = request
    }

    private struct Outcome {
        var result: SystemError = .none
        var reply: [UInt8] = []
        var afterReply: ControlRequestChannel.AfterReply?
    }

    /// The request handlers (§6.2, §6.3).
    private mutating func handle(type: UInt16, payload: [UInt8]) -> Outcome {
        func reply(_ message: some SwiftProtobuf.Message) -> Outcome {
            Outcome(reply: (try? message.serializedBytes() as [UInt8]) ?? [])
        }
        func failure(_ error: UpdateError) -> Outcome {
            Outcome(result: SystemError(name: error.systemError) ?? .unknown)
        }
        guard let kind = ControlRequestType(rawValue: type) else { return Outcome(result: .notSupported) }
        switch kind {
        case .echo:
            return Outcome(reply: payload)
        case .deviceID:
            return reply(Particle_Ctrl_GetDeviceIdReply.with { $0.id = deviceID })
        case .serialNumber:
            guard let serialNumber else { return Outcome(result: .notFound) }
            return reply(Particle_Ctrl_GetSerialNumberReply.with { $0.serial = serialNumber })
        case .systemVersion:
            return reply(Particle_Ctrl_GetSystemVersionReply.with { $0.version = deviceOS.description })
        case .reset:
            return Outcome(afterReply: .reset(.user))
        case .factoryReset:
            return Outcome(result: .notSupported)
        case .dfuMode:
            return Outcome(afterReply: .enterDFU)
        case .safeMode:
            return Outcome(afterReply: .enterSafeMode)
        case .startListening:
            enterListeningMode()
            return reply(Particle_Ctrl_StartListeningModeReply())
        case .stopListening:
            exitListeningMode()
            return reply(Particle_Ctrl_StopListeningModeReply())
        case .getDeviceMode:
            return reply(Particle_Ctrl_GetDeviceModeReply.with { $0.mode = mode == .listening ? .listeningMode : .normalMode })
        case .moduleInfo:
            return reply(moduleInfoReply())
        case .startFirmwareUpdate:
            guard let request = try? Particle_Ctrl_StartFirmwareUpdateRequest(serializedBytes: payload) else { return Outcome(result: .badData) }
            guard request.format == .bin else { return Outcome(result: .notSupported) }  // only BIN (§6.3)
            do {
                let chunk = try startUpdate(size: Int(request.size), source: .usb)
                return reply(Particle_Ctrl_StartFirmwareUpdateReply.with { $0.chunkSize = UInt32(chunk) })
            } catch { return failure(error) }
        case .firmwareUpdateData:
            guard let request = try? Particle_Ctrl_FirmwareUpdateDataRequest(serializedBytes: payload) else {
                cancelUpdate()
                return Outcome(result: .badData)
            }
            do {
                try receiveChunk([UInt8](request.data))
                return reply(Particle_Ctrl_FirmwareUpdateDataReply())
            } catch { return failure(error) }
        case .finishFirmwareUpdate:
            guard let request = try? Particle_Ctrl_FinishFirmwareUpdateRequest(serializedBytes: payload) else { return Outcome(result: .badData) }
            do {
                let modules = try validateUpdate()
                if request.validateOnly {
                    cancelUpdate()
                    return reply(Particle_Ctrl_FinishFirmwareUpdateReply())
                }
                // Applied only after the reply is delivered (§6.3).
                var outcome = reply(Particle_Ctrl_FinishFirmwareUpdateReply())
                outcome.afterReply = .applyUpdate(modules)
                return outcome
            } catch { return failure(error) }
        case .cancelFirmwareUpdate:
            cancelUpdate()
            return reply(Particle_Ctrl_CancelFirmwareUpdateReply())
        case .getProtectedState, .getAssetInfo, .cloudConnectionStatus, .networkInterfaceList, .cellularIccid:
            guard let bytes = deviceQuery(kind) else { return Outcome(result: .notSupported) }
            return Outcome(reply: bytes)
        }
    }

    /// GET_MODULE_INFO: the new format from Device OS 5.6.0, the deprecated list before it (§6.3).
    func moduleInfoReply() -> Particle_Ctrl_GetModuleInfoReply {
        let description = moduleTableDescription()
        let table = modules
        var reply = Particle_Ctrl_GetModuleInfoReply()
        if platform.generation == .gen2 {
            reply.modulesDeprecated = table.map { module in
                Particle_Ctrl_GetModuleInfoReply.Module.with {
                    $0.type = Self.deprecatedType(module.function)
                    $0.index = UInt32(module.index)
                    $0.version = UInt32(module.version)
                    $0.size = UInt32(module.size)
                    $0.validity = module.crcOK ? 0 : UInt32(Particle_Ctrl_FirmwareModuleValidityFlag.integrityCheckFailed.rawValue)
                    $0.dependencies = module.prefix.dependencies.map { dependency in
                        .with {
                            $0.type = Self.deprecatedType(dependency.function)
                            $0.index = UInt32(dependency.index)
                            $0.version = UInt32(dependency.version)
                        }
                    }
                }
            }
            return reply
        }
        reply.modules = zip(table, description.modules).map { module, described in
            Particle_Cloud_FirmwareModule.with {
                $0.type = Particle_Cloud_FirmwareModuleType(rawValue: Int(module.function.rawValue)) ?? .invalidModule
                $0.index = UInt32(module.index)
                $0.version = UInt32(module.version)
                $0.store = .mainModuleStore
                $0.maxSize = UInt32(module.slot.size)
                $0.size = UInt32(module.size)
                $0.checkedFlags = UInt32(described.validityChecked)
                $0.passedFlags = UInt32(described.validityResult)
                $0.hash = described.sha256.map { [UInt8](hexString: $0) }.map { Data($0) } ?? Data()
                $0.dependencies = module.prefix.dependencies.map { dependency in
                    .with {
                        $0.type = Particle_Cloud_FirmwareModuleType(rawValue: Int(dependency.function.rawValue)) ?? .invalidModule
                        $0.index = UInt32(dependency.index)
                        $0.version = UInt32(dependency.version)
                    }
                }
            }
        }
        return reply
    }

    static func deprecatedType(_ function: ModuleFunction) -> Particle_Ctrl_FirmwareModuleType {
        switch function {
        case .bootloader: .bootloader
        case .system: .systemPart
        case .user: .userPart
        case .mono: .monoFirmware
        case .ncp: .ncpFirmware
        case .radio: .radioStack
        default: .invalidFirmwareModule
        }
    }
}

extension Array where Element == UInt8 {
    init(hexString: String) {
        var bytes: [UInt8] = []
        var iterator = hexString.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            func value(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
            bytes.append(value(high) << 4 | value(low))
        }
        self = bytes
    }
}
