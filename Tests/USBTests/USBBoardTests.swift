import Bench
import Boards
import Emulator
import EmulatorServers
import Firmware
import Foundation
import Scenarios
import Testing

extension EmulatedUSBTests {
    @Test("The scenario library runs on a board over USB: every scenario a USB board can run passes")
    func libraryOverUSB() async throws {
        try #require(UmockdevTestbed.preloaded, "run under umockdev-wrapper (Scripts/test does)")
        let boron = Platform(buildName: "boron")!
        let firmware = try FirmwareSet.standard(for: boron)
        let index = try sharedUSB.serve(try BoardModel.provisioned(platform: boron, deviceID: BoardModel.defaultDeviceID(boron, serial: 31),
                                                                   firmware: firmware))
        let board = USBBoard(name: "usb-boron", platform: boron, deviceID: sharedUSB.board(index).deviceID)
        #expect(await board.mode() == .running)
        #expect(try await board.runningApp()?.fingerprint == FirmwareImage(bytes: firmware.application, label: "app").fingerprint)

        let library = try FirmwareLibrary.built(for: boron, standard: firmware)
        let system = firmware.modules.compactMap { bytes -> FirmwareImage? in
            (try? ModuleFile(bytes: bytes))?.modules.first?.function == .system ? FirmwareImage(bytes: bytes, label: "system") : nil
        }
        let bench = BoardUnderTest(board: board, firmware: library, emulated: false, cleanImages: system + [library.image(.knownGoodApp)])
        var options = RunOptions()
        options.tags = [.nightly]
        options.stepTimeout = .seconds(30)
        let summary = try await Runner(scenarios: ScenarioLibrary.all, boards: [bench], store: nil, options: options).run()
        let ran = Set(summary.results.filter { $0.status != .notApplicable }.map(\.scenario))
        #expect(ran.isSuperset(of: ["dfu/flash-known-good", "ota/happy-path", "guard/corrupt-image-refused",
                                    "guard/wrong-platform-refused-by-device", "guard/truncated-transfer-refused",
                                    "deps/unmet-dependency-safe-mode-then-heal", "recovery/dfu-recovery-of-broken-system"]))
        #expect(!ran.contains("ota/power-cut-during-download"), "needs a power switch")
        #expect(summary.passed, "\(summary.results.filter { $0.status.failsRun }.map { "\($0.id): \($0.message ?? "")" })")
    }
}
