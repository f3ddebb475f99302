import Bench
import Boards
import Emulator
import EmulatorServers
import Firmware
import Foundation
import Power
import Scenarios
import TestSupport
import Testing
import USB

/// Power cuts of boards on USB, as a lab cuts real ones: through the hub port they are plugged
/// into, when a trigger fires.
extension EmulatedUSBTests {
    /// A Boron on a port of the shared USB 3 hub, driven as a real board.
    static func boardOnHub(port: Int, serial: Int, hub: Int? = nil) throws
        -> (board: USBBoard, index: Int, knownGood: FirmwareImage) {
        let hub = try hub ?? EmulatedHubs.usb3.get()
        let (index, deviceID) = try EmulatedHubs.board("boron", serial: serial, on: hub, port: port)
        let model = sharedUSB.board(index)
        let app = try #require(model.runningApp)
        let knownGood = FirmwareImage(bytes: model.storage.read(.internal, app.start, count: app.size), label: "known good")
        let board = USBBoard(name: "boron-port-\(port)", platform: model.platform, deviceID: deviceID,
                             powerSwitch: HubPortPowerSwitch(HubPort(location: sharedUSB.hubLocation(hub), port: port)),
                             powerOffTime: .milliseconds(200), applyWindow: .milliseconds(200))
        return (board, index, knownGood)
    }

    static func nextApp(_ platform: Platform, size: Int = 100_000) throws -> FirmwareImage {
        FirmwareImage(bytes: try FirmwareSet.application(for: platform, size: size, seed: 4_242), label: "next app")
    }

    @Test("A cut at half of an OTA lands on the chunk boundary: host and board agree; the board comes back on its old app",
          arguments: [0.5, 0.05])
    func fractionCut(_ fraction: Double) async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let (board, index, knownGood) = try Self.boardOnHub(port: fraction == 0.5 ? 5 : 6, serial: fraction == 0.5 ? 71 : 72)
        let next = try Self.nextApp(board.platform)
        try await board.required((any ControlRequestUpdates).self).update(to: next, cuttingPower: PowerCut(.download, at: fraction))
        let record = try #require(await board.required((any PowerControl).self).lastPowerCut())
        let target = Int(Double(next.bytes.count) * fraction)
        let landed = try #require(record.sentAtCut)
        #expect(landed >= target && landed < target + 1024, "landed at \(landed) for \(target): within one 1 KiB chunk")
        #expect(sharedUSB.board(index).transferLostAt == landed, "the board held exactly what the host had sent")
        #expect(record.latency > .zero && record.latency < .seconds(5))
        #expect(record.offTime == .milliseconds(200))
        #expect(try await board.waitUntilUp(timeout: .seconds(10)) == .running)
        #expect(try await board.runningApp()?.fingerprint == knownGood.fingerprint)
    }

    @Test("A cut at a byte offset lands within one chunk of it")
    func byteOffsetCut() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let (board, index, knownGood) = try Self.boardOnHub(port: 7, serial: 73)
        try await board.required((any ControlRequestUpdates).self).update(to: try Self.nextApp(board.platform),
                               cuttingPower: PowerCut(.download, trigger: .byteOffset(10_000)))
        let landed = try #require(sharedUSB.board(index).transferLostAt)
        #expect(landed >= 10_000 && landed < 10_000 + 1024, "landed at \(landed)")
        #expect(try await board.waitUntilUp(timeout: .seconds(10)) == .running)
        #expect(try await board.runningApp()?.fingerprint == knownGood.fingerprint)
    }

    @Test("A delay after the board leaves USB cuts it while it applies the update; it comes back on the old app or the new")
    func cutWhileApplying() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let (board, index, knownGood) = try Self.boardOnHub(port: 8, serial: 74)
        let next = try Self.nextApp(board.platform)
        let boots = sharedUSB.board(index).bootCount
        try await board.required((any ControlRequestUpdates).self).update(to: next,
                               cuttingPower: PowerCut(.apply, trigger: .delay(.milliseconds(20), after: .boardLeft)))
        #expect(try #require(await board.required((any PowerControl).self).lastPowerCut()).sentAtCut == next.bytes.count)
        #expect(sharedUSB.board(index).bootCount >= boots + 2, "reset to apply, then powered back on")
        #expect(try await board.waitUntilUp(timeout: .seconds(10)) == .running)
        let running = try await board.runningApp()?.fingerprint
        #expect(running == knownGood.fingerprint || running == next.fingerprint)
        #expect(try await board.modules().allSatisfy(\.valid))
    }

    @Test("A switch that reports the port off but keeps the board powered is caught at the cut: the board finished the transfer")
    func cutThatDoesNotCut() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let (board, _, _) = try Self.boardOnHub(port: 2, serial: 75, hub: try EmulatedHubs.ignoringOff.get())
        let error = await #expect(throws: BoardError.self) {
            try await board.required((any ControlRequestUpdates).self).update(to: try Self.nextApp(board.platform), cuttingPower: PowerCut(.download, at: 0.3))
        }
        #expect(error?.cause == .bench("the board finished the transfer after its power was cut: the switch does not cut it"), "\(String(describing: error))")
    }
}

extension EmulatedUSBTests {
    @Test("The power-cut scenarios run on a board on USB behind a hub port: verified switch, N cut points, each case recovered")
    func powerCutSweepOverUSB() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let (board, _, knownGood) = try Self.boardOnHub(port: 9, serial: 76)
        let standard = try FirmwareSet.standard(for: board.platform)
        let library = try FirmwareLibrary.built(for: board.platform, standard: standard)
        let bench = BoardUnderTest(board: board, firmware: library, emulated: false, cleanImages: [knownGood])
        var options = RunOptions()
        options.tags = [.powerCut]
        options.cutPoints = 3
        options.stepTimeout = .seconds(30)
        options.powerCheck.leave = .seconds(2)
        options.powerCheck.silence = .milliseconds(300)
        options.powerCheck.comeBack = .seconds(15)
        let summary = try await Runner(scenarios: ScenarioLibrary.all, boards: [bench], store: nil, options: options).run()
        let ids = summary.results.filter { $0.status != .notApplicable }.map { "\($0.scenario)[\($0.argument ?? "")]" }.sorted()
        // The cloud cut needs the cloud path, which a board on USB has only with a token.
        #expect(summary.results.filter { $0.status == .notApplicable }.allSatisfy { $0.scenario.hasPrefix("cloud/") && ($0.message ?? "").contains("cloud-ota") })
        #expect(ids == ["dfu/power-cut-during-write[dfu-write 17%]", "dfu/power-cut-during-write[dfu-write 50%]",
                        "dfu/power-cut-during-write[dfu-write 83%]", "ota/power-cut-during-apply[apply 17%]", "ota/power-cut-during-apply[apply 50%]", "ota/power-cut-during-apply[apply 83%]",
                        "ota/power-cut-during-download[download 17%]", "ota/power-cut-during-download[download 50%]",
                        "ota/power-cut-during-download[download 83%]"], "\(ids)")
        #expect(summary.passed, "\(summary.results.filter { $0.status.failsRun }.map { "\($0.id): \($0.message ?? "")" })")
        #expect(try await board.required((any PowerControl).self).lastPowerCut() != nil)
    }
}
