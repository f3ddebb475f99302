import ControlRequests
@testable import Emulator
import Firmware
import Links
import Testing

/// Which of the device queries a board answers, per platform and Device OS version, as
/// system_control_internal.cpp's cases and `#if`s decide; -120 (NOT_SUPPORTED) otherwise.
@Suite("Device OS queries: asset info, protection, cloud status, interfaces, ICCID", .timeLimit(.minutes(10)))
struct DeviceOSQueryTests {
    static let notSupported = SystemError.notSupported.rawValue

    static func ask(_ name: String, _ type: ControlRequestType, version: String? = nil,
                    _ change: @Sendable (inout BoardModel) -> Void = { _ in }) async throws -> (result: Int32, reply: [UInt8]) {
        let (board, host) = try ControlRequestFaceTests.board(name)
        let release = try version.map { try #require(DeviceOSVersion($0)) }
        await board.update { model in
            if let release { model.deviceOS = release }
            change(&model)
        }
        return try await host.request(type)
    }

    @Test("Asset info: Gen 3 and RTL872x from 5.6.0, an empty message without assets; Gen 2 and older releases refuse",
          arguments: ["boron", "argon", "p2", "msom", "tracker"])
    func assetInfo(_ name: String) async throws {
        #expect(try await Self.ask(name, .getAssetInfo) == (0, []))
        #expect(try await Self.ask(name, .getAssetInfo, version: "5.5.0").result == Self.notSupported)
    }

    @Test("The modem interface follows the platform's one list of cellular boards: pp3 on every Gen 3 cellular board, none on Wi-Fi boards")
    func modemInterfaces() {
        for platform in Platform.catalog where platform.generation == .gen3 {
            let names = (NetworkInterface.deviceOS(on: platform) ?? []).map(\.name)
            #expect(names.contains("pp3") == platform.cellular, "\(platform.buildName): \(names)")
            #expect(NetworkInterface.hasCellularModem(platform) == platform.cellular, "\(platform.buildName)")
        }
        #expect(NetworkInterface.deviceOS(on: Platform(buildName: "esomx")!)?.map(\.name) == ["lo0", "pp3"])
        #expect(NetworkInterface.deviceOS(on: Platform(buildName: "tracker")!)?.map(\.name) == ["lo0", "pp3", "wl4"])
        #expect(NetworkInterface.deviceOS(on: Platform(buildName: "argon")!)?.map(\.name) == ["lo0", "wl3"])
    }

    @Test("Gen 2 on Device OS 1.5 answers the cloud status and nothing else of these")
    func gen2() async throws {
        for type in [ControlRequestType.getAssetInfo, .getProtectedState, .networkInterfaceList, .cellularIccid] {
            #expect(try await Self.ask("photon", type).result == Self.notSupported, "\(type)")
            #expect(try await Self.ask("electron", type).result == Self.notSupported, "\(type)")
        }
        #expect(try await Self.ask("photon", .cloudConnectionStatus) == (0, []))
    }

    @Test("Protection state: from Device OS 6.1.0 only")
    func protection() async throws {
        #expect(try await Self.ask("boron", .getProtectedState).result == Self.notSupported)
        #expect(try await Self.ask("boron", .getProtectedState, version: "6.0.1").result == Self.notSupported)
        #expect(try await Self.ask("boron", .getProtectedState, version: "6.1.0") == (0, []))
        #expect(try await Self.ask("p2", .getProtectedState, version: "6.2.0-rc.1") == (0, []))
    }

    @Test("Cloud status: DISCONNECTED (an empty message) until the cloud session's hello, CONNECTED (08 02) then, gone at reset")
    func cloudStatus() async throws {
        #expect(try await Self.ask("boron", .cloudConnectionStatus) == (0, []))
        #expect(try await Self.ask("boron", .cloudConnectionStatus) { $0.cloudConnected = true } == (0, [0x08, 0x02]))
        #expect(try await Self.ask("boron", .cloudConnectionStatus) { $0.cloudConnected = true; $0.reset(.user) } == (0, []))
    }

    @Test("Interface list: lwIP names and indices per platform; PPP on cellular boards, Wi-Fi on the others, both on Tracker and M SoM")
    func interfaces() async throws {
        // InterfaceEntry {index 1, name 2, type 3} in `interfaces` (1), written out by hand.
        let loopback: [UInt8] = [0x0A, 9, 0x08, 1, 0x12, 3] + Array("lo0".utf8) + [0x18, 1]
        let ppp: [UInt8] = [0x0A, 9, 0x08, 4, 0x12, 3] + Array("pp3".utf8) + [0x18, 16]
        let wifi3: [UInt8] = [0x0A, 9, 0x08, 4, 0x12, 3] + Array("wl3".utf8) + [0x18, 8]
        let wifi4: [UInt8] = [0x0A, 9, 0x08, 5, 0x12, 3] + Array("wl4".utf8) + [0x18, 8]
        #expect(try await Self.ask("boron", .networkInterfaceList) == (0, loopback + ppp))
        #expect(try await Self.ask("bsom", .networkInterfaceList) == (0, loopback + ppp))
        #expect(try await Self.ask("argon", .networkInterfaceList) == (0, loopback + wifi3))
        #expect(try await Self.ask("p2", .networkInterfaceList) == (0, loopback + wifi3))
        #expect(try await Self.ask("msom", .networkInterfaceList) == (0, loopback + ppp + wifi4))
        #expect(try await Self.ask("tracker", .networkInterfaceList) == (0, loopback + ppp + wifi4))
    }

    @Test("ICCID and IMEI on boards with a cellular modem: 20 and 15 digits, Luhn-valid, the same for the same board; Wi-Fi boards refuse")
    func iccid() async throws {
        for name in ["argon", "asom", "p2"] {
            #expect(try await Self.ask(name, .cellularIccid).result == Self.notSupported, "\(name)")
        }
        let (result, reply) = try await Self.ask("boron", .cellularIccid)
        #expect(result == 0)
        // {iccid 1, imei 2}
        try #require(reply.count == 2 + 20 + 2 + 15 && reply[0] == 0x0A && reply[1] == 20 && reply[22] == 0x12 && reply[23] == 15, "\(reply)")
        let iccid = String(decoding: reply[2..<22], as: UTF8.self), imei = String(decoding: reply[24...], as: UTF8.self)
        func luhnValid(_ digits: String) -> Bool {
            digits.reversed().enumerated().reduce(0) { sum, item in
                let digit = Int(String(item.element))! * (item.offset % 2 == 1 ? 2 : 1)
                return sum + digit / 10 + digit % 10
            } % 10 == 0
        }
        #expect(iccid.hasPrefix("89") && iccid.allSatisfy(\.isNumber) && luhnValid(iccid), "\(iccid)")
        #expect(imei.allSatisfy(\.isNumber) && luhnValid(imei), "\(imei)")
        #expect(try await Self.ask("boron", .cellularIccid).reply == reply)
    }

    @Test("Device OS versions order by their numbers; a pre-release counts as its release")
    func releases() {
        #expect(DeviceOSVersion("5.8.0")! < DeviceOSVersion("6.1.0")!)
        #expect(DeviceOSVersion("5.10.0")! > DeviceOSVersion("5.9.1")!)
        #expect(DeviceOSVersion("6.1.0-rc.2") == DeviceOSVersion(6, 1, 0))
        #expect(DeviceOSVersion("1.5") == nil)
    }
}
