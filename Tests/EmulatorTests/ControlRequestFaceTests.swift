import ControlRequests
@testable import Emulator
import Firmware
import Foundation
import Links
import Serial
import SwiftProtobuf
import Testing

/// A plain host for Particle's control-request transport, written from §6.1.
struct TestControlHost {
    let pipe: any ControlPipe
    let timeout = Duration.seconds(1)

    func initialize(type: UInt16, size: Int, length: UInt16 = 64) async throws -> ServiceReply {
        try ServiceReply(decoding: try await pipe.controlIn(
            ControlSetup(requestType: 0xC0, request: 1, value: UInt16(size), index: type, length: length), timeout: timeout))
    }

    func check(_ id: UInt16) async throws -> ServiceReply {
        try ServiceReply(decoding: try await pipe.controlIn(ControlSetup(requestType: 0xC0, request: 2, value: 0, index: id, length: 64),
                                                            timeout: timeout))
    }

    func send(_ id: UInt16, _ data: [UInt8]) async throws {
        try await pipe.controlOut(ControlSetup(requestType: 0x40, request: 3, value: 0, index: id, length: UInt16(data.count)),
                                  data: data, timeout: timeout)
    }

    func receive(_ id: UInt16, length: Int) async throws -> [UInt8] {
        try await pipe.controlIn(ControlSetup(requestType: 0xC0, request: 4, value: 0, index: id, length: UInt16(length)), timeout: timeout)
    }

    func cancel(_ id: UInt16) async throws -> ServiceReply {
        try ServiceReply(decoding: try await pipe.controlIn(ControlSetup(requestType: 0xC0, request: 5, value: 0, index: id, length: 64),
                                                            timeout: timeout))
    }

    /// The whole exchange: INIT, SEND, CHECK until done, RECV. Returns the result and reply.
    func request(_ type: ControlRequestType, _ payload: [UInt8] = []) async throws -> (result: Int32, reply: [UInt8]) {
        var initReply = try await initialize(type: type.rawValue, size: payload.count)
        let id = try #require(initReply.id)
        while initReply.status == .pending { initReply = try await check(id) }
        #expect(initReply.status == .ok)
        for offset in stride(from: 0, to: payload.count, by: 4096) {
            try await send(id, Array(payload[offset..<min(offset + 4096, payload.count)]))
        }
        var status = try await check(id)
        while status.status == .pending || status.result == nil { status = try await check(id) }
        var reply: [UInt8] = []
        if let size = status.size {
            while reply.count < Int(size) { reply += try await receive(id, length: min(4096, Int(size) - reply.count)) }
        }
        return (status.result ?? 0, reply)
    }

    func request(_ type: ControlRequestType, _ message: some SwiftProtobuf.Message) async throws -> (result: Int32, reply: [UInt8]) {
        try await request(type, try message.serializedBytes())
    }
}

@Suite("Control-request face (§6)", .timeLimit(.minutes(10)))
struct ControlRequestFaceTests {
    static let boron = Platform(buildName: "boron")!

    static func board(_ name: String = "boron") throws -> (BoardEmulator, TestControlHost) {
        let board = try BoardEmulator(platform: Platform(buildName: name)!)
        return (board, TestControlHost(pipe: board))
    }

    @Test("Device id, serial number and system version")
    func identity() async throws {
        let (board, host) = try Self.board()
        let model = await board.snapshot()
        let (result, reply) = try await host.request(.deviceID)
        #expect(result == 0)
        #expect(try Particle_Ctrl_GetDeviceIdReply(serializedBytes: reply).id == model.deviceID)
        let raw = try await board.controlIn(ControlSetup(requestType: 0xC0, request: 0x50, value: 0, index: 30, length: 64), timeout: .seconds(1))
        #expect(String(decoding: raw, as: UTF8.self) == model.deviceOS.description)
        let rawID = try await board.controlIn(ControlSetup(requestType: 0xC0, request: 0x50, value: 0, index: 20, length: 64), timeout: .seconds(1))
        #expect(String(decoding: rawID, as: UTF8.self) == model.deviceID)
        #expect(try await host.request(.systemVersion).result == 0)
    }

    @Test("OTA over control requests: start (chunk 1024), data, validate-only, finish, reset into the new app")
    func firmwareUpdate() async throws {
        let (board, host) = try Self.board()
        let image = try FirmwareSet.application(for: Self.boron, size: 30_000, seed: 12)
        func start() async throws -> UInt32 {
            let (result, reply) = try await host.request(.startFirmwareUpdate, Particle_Ctrl_StartFirmwareUpdateRequest.with { $0.size = UInt32(image.count) })
            #expect(result == 0)
            return try Particle_Ctrl_StartFirmwareUpdateReply(serializedBytes: reply).chunkSize
        }
        func sendAll(_ chunk: Int) async throws {
            for offset in stride(from: 0, to: image.count, by: chunk) {
                let data = Data(image[offset..<min(offset + chunk, image.count)])
                #expect(try await host.request(.firmwareUpdateData, Particle_Ctrl_FirmwareUpdateDataRequest.with { $0.data = data }).result == 0)
            }
        }
        let chunk = try await start()
        #expect(chunk == 1024)
        try await sendAll(Int(chunk))
        #expect(try await host.request(.finishFirmwareUpdate, Particle_Ctrl_FinishFirmwareUpdateRequest.with { $0.validateOnly = true }).result == 0)
        #expect(await board.snapshot().updateInProgress == false)  // validate-only cancels (§6.3)

        _ = try await start()
        try await sendAll(1024)
        #expect(try await host.request(.finishFirmwareUpdate, Particle_Ctrl_FinishFirmwareUpdateRequest()).result == 0)
        let model = await board.snapshot()
        #expect(model.lastResetReason == .update)
        #expect(model.runningApp?.size == image.count)
    }

    @Test("Refusals carry Device OS's system error codes")
    func refusals() async throws {
        let (board, host) = try Self.board()
        await board.update { $0.disableUpdates() }
        let disabled = try await host.request(.startFirmwareUpdate, Particle_Ctrl_StartFirmwareUpdateRequest.with { $0.size = 1000 })
        #expect(disabled.result == SystemError.otaUpdatesDisabled.rawValue)
        await board.update { $0.enableUpdates() }

        var image = try FirmwareSet.application(for: Self.boron, size: 4000, seed: 1)
        image[100] ^= 1
        #expect(try await host.request(.startFirmwareUpdate, Particle_Ctrl_StartFirmwareUpdateRequest.with { $0.size = UInt32(image.count) }).result == 0)
        #expect(try await host.request(.firmwareUpdateData, Particle_Ctrl_FirmwareUpdateDataRequest.with { $0.data = Data(image) }).result == 0)
        let finish = try await host.request(.finishFirmwareUpdate, Particle_Ctrl_FinishFirmwareUpdateRequest())
        #expect(finish.result == SystemError.otaIntegrityCheckFailed.rawValue)
        // Data without a transfer, and data past the end, are refused.
        #expect(try await host.request(.firmwareUpdateData, Particle_Ctrl_FirmwareUpdateDataRequest.with { $0.data = Data([1]) }).result
                == SystemError.invalidState.rawValue)
        #expect(try await host.request(.startFirmwareUpdate, Particle_Ctrl_StartFirmwareUpdateRequest.with { $0.size = 1000; $0.format = .miniz }).result
                == SystemError.notSupported.rawValue)
        #expect(try await host.request(.factoryReset).result == SystemError.notSupported.rawValue)
    }

    @Test("Transport statuses: short INIT stalls, a fifth request is BUSY, unknown ids are NOT_FOUND, overflowing SEND stalls, RESET cancels")
    func transportStatuses() async throws {
        let (_, host) = try Self.board()
        await #expect(throws: LinkError.stalled) { _ = try await host.initialize(type: 20, size: 0, length: 8) }
        var ids: [UInt16] = []
        for _ in 0..<4 { ids.append(try #require(try await host.initialize(type: 1, size: 10).id)) }
        #expect(try await host.initialize(type: 1, size: 10).status == .busy)
        #expect(Set(ids).count == 4 && !ids.contains(0))
        await #expect(throws: LinkError.stalled) { try await host.send(ids[0], [UInt8](repeating: 0, count: 11)) }
        #expect(try await host.cancel(ids[0]).status == .ok)
        #expect(try await host.check(ids[0]).status == .notFound)
        #expect(try await host.cancel(999).status == .notFound)
        #expect(try await host.cancel(0).status == .ok)  // all
        // A payload above the pooled 64 bytes waits for a buffer: PENDING.
        #expect(try await host.initialize(type: 1, size: 100).status == .pending)
        // ECHO round-trips; an unknown type answers NOT_SUPPORTED.
        let echo = try await host.request(.echo, Array("hello".utf8))
        #expect(echo.reply == Array("hello".utf8))
        let unknown = try await host.initialize(type: 9999, size: 0)
        #expect(try await host.check(unknown.id!).result == SystemError.notSupported.rawValue)
    }

    @Test("DFU, safe mode and reset requests act after their reply; the forced reset acts at once")
    func modeChanges() async throws {
        let (board, host) = try Self.board()
        #expect(try await host.request(.safeMode).result == 0)
        guard case .safeMode = await board.mode else { Issue.record("not in safe mode: \(await board.mode)"); return }
        let boots = await board.snapshot().bootCount
        #expect(try await host.request(.reset).result == 0)
        #expect(await board.snapshot().bootCount == boots + 1)
        try await board.controlOut(ControlSetup(requestType: 0x40, request: 0x50, value: 0, index: 40, length: 0), data: [], timeout: .seconds(1))
        #expect(await board.snapshot().bootCount == boots + 2)
        #expect(try await host.request(.dfuMode).result == 0)
        #expect(await board.mode == .dfu)
        #expect(await board.usbProductID == Self.boron.usb.dfuProductID)
        // In DFU mode the control-request channel is gone: the bootloader answers DFU only.
        await #expect(throws: LinkError.stalled) { _ = try await host.initialize(type: 20, size: 0) }
    }

    @Test("Module info: the 5.6.0+ list on Gen 3, the deprecated list on Gen 2")
    func moduleInfo() async throws {
        let (_, host) = try Self.board()
        let reply = try Particle_Ctrl_GetModuleInfoReply(serializedBytes: try await host.request(.moduleInfo).reply)
        #expect(reply.modulesDeprecated.isEmpty)
        #expect(Set(reply.modules.map(\.type)) == [.bootloaderModule, .systemPartModule, .userPartModule])
        #expect(reply.modules.allSatisfy { $0.hash.count == 32 && $0.checkedFlags == $0.passedFlags && $0.checkedFlags == 30 })
        let system = try #require(reply.modules.first { $0.type == .systemPartModule })
        #expect(system.dependencies.first?.type == .bootloaderModule)

        let (_, photon) = try Self.board("photon")
        let old = try Particle_Ctrl_GetModuleInfoReply(serializedBytes: try await photon.request(.moduleInfo).reply)
        #expect(old.modules.isEmpty)
        #expect(old.modulesDeprecated.filter { $0.type == .systemPart }.count == 2)
        #expect(old.modulesDeprecated.allSatisfy { $0.validity == 0 })
    }
}

@Suite("Listening-mode face (§7, §9)", .timeLimit(.minutes(10)))
struct ListeningModeFaceTests {
    static func readAll(_ port: EmulatedSerialPort) async throws -> String {
        var bytes: [UInt8] = []
        while true {
            let chunk = try await port.read(maximum: 4096, timeout: .milliseconds(30))
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("Entered by control request; i, v, m, s, f, x answer as Device OS 5.8.0 does on a Boron")
    func commands() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "boron")!)
        let host = TestControlHost(pipe: board)
        let port = EmulatedSerialPort(board: board)
        _ = try await Self.readAll(port)  // the boot log
        #expect(try await host.request(.startListening).result == 0)
        let mode = try Particle_Ctrl_GetDeviceModeReply(serializedBytes: try await host.request(.getDeviceMode).reply)
        #expect(mode.mode == .listeningMode)
        _ = try await Self.readAll(port)
        let model = await board.snapshot()

        try await port.write(Array("i".utf8))
        #expect(try await Self.readAll(port) == "Device ID: \(model.deviceID)\r\nDevice Secret: \(model.deviceSecret!)\r\n"
            + "Serial Number: \(model.serialNumber!)\r\n"
            + "IMEI: \(model.imei)\r\nICCID: \(model.iccid)\r\nCell Radio Version: \(model.cellRadioVersion)\r\n")
        try await port.write(Array("v".utf8))
        #expect(try await Self.readAll(port).contains(model.deviceOS.description))
        // No Wi-Fi on a Boron: network_config(0) has no interface, and the zeroed address is printed.
        try await port.write(Array("m".utf8))
        #expect(try await Self.readAll(port) == "Your device MAC address is\r\n00:00:00:00:00:00\r\n")
        try await port.write(Array("s".utf8))
        let json = try await Self.readAll(port)
        #expect(json.hasSuffix("}\r\n"))
        // Device OS's order and the modem's keys, without the device secret or serial number.
        #expect(json.hasPrefix("{\"p\":13,\"imei\":\"\(model.imei)\",\"iccid\":\"\(model.iccid)\",\"cellfw\":\"\(model.cellRadioVersion)\",\"m\":[{\"s\":"),
                "\(json)")
        #expect(json.contains("\"f\":\"s\",\"n\":\"1\",\"v\":5800,\"d\":[{\"f\":\"b\",\"n\":\"0\",\"v\":2400}]}"), "\(json)")
        #expect(!json.contains("ms") && !json.contains("sn") && !json.contains(" "), "\(json)")
        let table = try ModuleTableDescription.parse(json.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(table.platformID == 13)
        #expect(Set(table.modules.map(\.function)) == ["b", "s", "u"])
        #expect(table.modules.allSatisfy { $0.isValid })
        #expect(table.modules.first { $0.function == "u" }?.dependencies == [.init(function: "s", index: "1", version: 5800)])

        // 5.8.0 takes YMODEM on a Boron: the prompt, and the receiver waits silently.
        try await port.write(Array("f".utf8))
        #expect(try await Self.readAll(port) == "Waiting for the binary file to be sent ... (press 'a' to abort)\r\n")
        try await port.write(Array("a".utf8))
        #expect(try await Self.readAll(port) == "\u{18}\u{18}\u{18}\u{18}Aborted by user.\r\n")

        try await port.write(Array("x".utf8))
        _ = try await Self.readAll(port)
        #expect(await board.mode == .running)
    }

    @Test("L resets into safe mode, which listens")
    func startupListen() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "p2")!)
        await board.update { $0.enterListeningMode() }
        try await EmulatedSerialPort(board: board).write(Array("L".utf8))
        #expect(await board.mode == .listening)
        #expect(await board.snapshot().lastResetReason == .safeMode)
    }

    @Test("`i` per platform as Device OS prints it: the serial number, then on cellular boards IMEI, ICCID and (from 2.1.0) Cell Radio Version",
          arguments: [("boron", true, true), ("bsom", true, true), ("msom", true, true), ("electron", true, false),
                      ("argon", false, false), ("p2", false, false), ("photon", false, false)])
    func identityPerPlatform(_ name: String, _ cellular: Bool, _ radioVersion: Bool) async throws {
        let board = try BoardEmulator(platform: Platform(buildName: name)!)
        await board.update { $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board)
        _ = try await Self.readAll(port)
        try await port.write(Array("i".utf8))
        let answer = try await Self.readAll(port)
        let lines = answer.components(separatedBy: "\r\n")
        let model = await board.snapshot()
        // Gen 3 keeps a device secret in OTP or eFuse, printed first; Gen 2 has none.
        var expected = ["Device ID: \(model.deviceID)"] + (model.platform.generation == .gen3 ? ["Device Secret: \(model.deviceSecret!)"] : [])
            + ["Serial Number: \(model.serialNumber!)"]
        if cellular { expected += ["IMEI: \(model.imei)", "ICCID: \(model.iccid)"] }
        if radioVersion { expected.append("Cell Radio Version: \(model.cellRadioVersion)") }
        #expect(lines == expected + [""], "\(answer.debugDescription)")
        #expect(model.deviceID == model.deviceID.lowercased() && model.deviceID.count == 24)
        if cellular {
            // A modem's numbers: 15 and 20 digits, each ending in its Luhn check digit.
            #expect(model.imei.count == 15 && model.imei.allSatisfy(\.isNumber) && Self.luhnValid(model.imei))
            #expect(model.iccid.count == 20 && model.iccid.hasPrefix("89") && Self.luhnValid(model.iccid))
        }
        // The host's parser reads every line back.
        let identity = try await ListeningModeClient(stream: port).identify()
        #expect(identity.deviceID == model.deviceID)
        #expect(identity.details["Serial Number"] == model.serialNumber)
        #expect(identity.details["IMEI"] == (cellular ? model.imei : nil))
        #expect(identity.details["Device Secret"] == model.deviceSecret)
        if let secret = model.deviceSecret { #expect(secret.count == 15 && secret.allSatisfy { $0.isASCII && $0.isLetter || $0.isNumber }) }
        // Wi-Fi boards print their interface's MAC address.
        try await port.write(Array("m".utf8))
        let mac = try await Self.readAll(port)
        #expect(mac == "Your device MAC address is\r\n\(model.hasWiFi ? model.macAddress : "00:00:00:00:00:00")\r\n")
        #expect(model.hasWiFi == ["argon", "p2", "photon", "msom"].contains(name), "\(name)")
    }

    @Test("A board without a serial number (and no modem) prints the old form, as Device OS does with no key/values")
    func identityWithoutProperties() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "argon")!)
        await board.update { $0.hasSerialNumber = false; $0.hasDeviceSecret = false; $0.enterListeningMode() }
        let port = EmulatedSerialPort(board: board)
        _ = try await Self.readAll(port)
        try await port.write(Array("i".utf8))
        #expect(try await Self.readAll(port) == "Your device id is \(await board.snapshot().deviceID)\r\n")
    }

    static func luhnValid(_ digits: String) -> Bool {
        let sum = digits.reversed().enumerated().reduce(0) { sum, item in
            let digit = Int(String(item.element))!
            let value = item.offset % 2 == 1 ? digit * 2 : digit
            return sum + (value > 9 ? value - 9 : value)
        }
        return sum % 10 == 0
    }

    @Test("In normal mode the port carries the board's log; keys are ignored; an unpowered board is gone")
    func normalMode() async throws {
        let board = try BoardEmulator(platform: Platform(buildName: "photon")!)
        let port = EmulatedSerialPort(board: board)
        #expect(try await Self.readAll(port).contains("Device OS: running the application"))
        try await port.write(Array("i".utf8))
        #expect(try await Self.readAll(port).isEmpty)
        await board.update { $0.powerOff() }
        await #expect(throws: LinkError.disconnected) { try await port.write([0x69]) }
    }
}
