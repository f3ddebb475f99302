@testable import Bench
@testable import Boards
import Cloud
import ControlRequests
import DFU
import Emulator
import Firmware
import Foundation
import Links
import Scenarios
import TestSupport
import Testing

@Suite("Board facets and typed errors", .timeLimit(.minutes(10)))
struct FacetTests {
    static let photon = Platform(buildName: "photon")!

    @Test("A board's capabilities are the facets it has: a bare USB board has no power, console, cloud or YMODEM")
    func capabilitiesFollowFacets() throws {
        let bare = USBBoard(name: "photon-usb", platform: Self.photon, deviceID: "e00fce68000c000000000001")
        #expect(bare.capabilities == [.moduleTable, .modeControl, .dfu, .controlRequests])
        #expect(bare.facet((any PowerControl).self) == nil)
        #expect(bare.facet((any UpdateControl).self) == nil)
        #expect(bare.facet((any YModemUpdates).self) == nil)

        let emulated = try boards(["photon"])[0].board
        #expect(emulated.capabilities == Set(Capability.allCases))
        // Each route is its own facet: the cloud's is not the control requests'.
        let cloud = try emulated.required((any CloudUpdates).self)
        let control = try emulated.required((any ControlRequestUpdates).self)
        #expect(type(of: cloud) != type(of: control))
    }

    @Test("A Photon on USB with a console is not planned for the YMODEM case: it has no serial facet")
    func noYModemWithoutTheFacet() throws {
        let tty = "/dev/null"
        let log = try temporaryFolder("facet-console").appendingPathComponent("photon.log")
        let board = USBBoard(name: "photon-usb", platform: Self.photon, deviceID: "e00fce68000c000000000002",
                             consoleLog: log, tty: { tty })
        #expect(board.capabilities.contains(.console))
        let entry = BoardUnderTest(board: board, firmware: try boards(["photon"])[0].firmware, emulated: false, cleanImages: [])
        var options = RunOptions()
        options.scenarioPatterns = ["ota/serial-ymodem"]
        let runner = Runner(scenarios: ScenarioLibrary.all, boards: [entry], store: nil, options: options)
        #expect(runner.plan().isEmpty)
        let skipped = runner.notApplicable()
        #expect(skipped.count == 1)
        #expect(skipped.first?.reason.contains("serial-ymodem") == true, "\(skipped.map(\.reason))")
    }

    @Test("A Boron on USB with a power switch and cloud credentials runs the cloud and power-cut cases, but not a power cut in a cloud transfer: Particle's API reports no progress to cut at")
    func noCloudPowerCutOnUSB() throws {
        let cloud = CloudFlash(client: CloudClient(credentials: CloudCredentials(baseURL: "http://127.0.0.1:9", token: "t")))
        let board = USBBoard(name: "boron-usb", platform: Platform(buildName: "boron")!, deviceID: "e00fce68000c000000000003",
                             powerSwitch: SwitchThatNeverCuts(), cloud: cloud)
        #expect(board.capabilities.isSuperset(of: [.cloudOTA, .powerControl]))
        #expect(!board.capabilities.contains(.cloudPowerCut))
        let entry = BoardUnderTest(board: board, firmware: try boards(["boron"])[0].firmware, emulated: false, cleanImages: [])
        var options = RunOptions()
        options.scenarioPatterns = ["cloud/*", "ota/power-cut-during-download"]
        let runner = Runner(scenarios: ScenarioLibrary.all, boards: [entry], store: nil, options: options)
        let planned = Set(runner.plan().flatMap(\.cases).map { $0.0.name })
        #expect(planned.contains("cloud/ota-happy-path") && planned.contains("ota/power-cut-during-download"), "\(planned)")
        #expect(!planned.contains("cloud/power-cut-during-transfer"))
        let skipped = runner.notApplicable().filter { $0.scenarioCase.scenario == "cloud/power-cut-during-transfer" }
        #expect(!skipped.isEmpty)
        #expect(skipped.allSatisfy { $0.reason.contains("cloud-power-cut") }, "\(skipped.map(\.reason))")
    }

    @Test("Emulated Gen 3 boards run Device OS 5.8.0, which takes YMODEM: ota/serial-ymodem is planned on them as on Gen 2, not listed as not applicable",
          arguments: ["boron", "argon", "p2", "photon"])
    func ymodemOnEveryPlatformBefore6(_ name: String) throws {
        let entry = try boards([name])[0]
        #expect(entry.board.capabilities.contains(.serialYModem))
        var options = RunOptions()
        options.scenarioPatterns = ["ota/serial-ymodem"]
        let runner = Runner(scenarios: ScenarioLibrary.all, boards: [entry], store: nil, options: options)
        #expect(runner.plan().flatMap(\.cases).map { $0.0.name } == ["ota/serial-ymodem"])
        #expect(runner.notApplicable().isEmpty)
    }

    @Test("A board the inventory puts on Device OS 6.2.0 has no YMODEM facet: the runner lists ota/serial-ymodem as not applicable to it, runs it on the 5.8.0 board, and runs the OTA on both")
    func deviceOS6FromTheInventory() async throws {
        let inventory = try Inventory.parse("""
            [[board]]
            name = "boron-6"
            platform = "boron"
            device-os = "6.2.0"

            [[board]]
            name = "boron-5"
            platform = "boron"
            """, file: "lab.toml")
        let boards = try inventory.entries.enumerated().map { try BoardUnderTest.make($1, serial: $0 + 1) }
        let six = try #require(boards.first { $0.board.name == "boron-6" }?.board as? EmulatedBoard)
        #expect(!six.capabilities.contains(.serialYModem))
        #expect(boards[1].board.capabilities.contains(.serialYModem))
        // The board is a 6.2.0 board throughout: what it reports, and its system part's version.
        let model = await six.emulator.snapshot()
        #expect(model.deviceOS == DeviceOSVersion(6, 2, 0))
        #expect(model.modules.contains { $0.prefix.function == .system && $0.prefix.version == 6200 }, "\(model.modules)")
        #expect(boards[0].firmware.image(.knownGoodApp).bytes != boards[1].firmware.image(.knownGoodApp).bytes,
                "the 6.2.0 board's apps depend on its own system part")

        var options = RunOptions()
        options.scenarioPatterns = ["ota/happy-path", "ota/serial-ymodem"]
        let runner = Runner(scenarios: ScenarioLibrary.all, boards: boards, store: nil, options: options)
        let skipped = runner.notApplicable()
        #expect(skipped.map { "\($0.board.board.name) \($0.scenarioCase.scenario)" } == ["boron-6 ota/serial-ymodem"], "\(skipped.map(\.reason))")
        let summary = try await runner.run()
        #expect(summary.passed, "\(summary.results.filter { $0.status.failsRun })")
        let outcomes = Set(summary.results.map { "\($0.board) \($0.scenario) \($0.status)" })
        #expect(outcomes.isSuperset(of: ["boron-6 ota/happy-path passed", "boron-6 ota/serial-ymodem notApplicable",
                                         "boron-5 ota/happy-path passed", "boron-5 ota/serial-ymodem passed"]), "\(outcomes)")
    }

    @Test("What a layer throws becomes the cause a scenario matches")
    func causesFromLayers() {
        func cause(_ error: any Error) -> BoardError.Cause { BoardError(board: "b", operation: "op", from: error).cause }
        #expect(cause(ControlRequestError.failed(.startFirmwareUpdate, result: -1360)) == .refused(.otaInvalidPlatform))
        #expect(cause(ControlRequestError.failed(.startFirmwareUpdate, result: -9999)) == .refusedWithCode(-9999))
        #expect(cause(ControlRequestError.timedOut(.reset)) == .timedOut("request \(ControlRequestType.reset) timed out"))
        #expect(cause(LinkError.disconnected) == .link(.disconnected))
        #expect(cause(TimeoutError(what: "the board", limit: .seconds(1))) == .timedOut("the board did not finish within 1.0 seconds"))
        #expect(cause(DfuSeError.badReply("short")) == .link(.other("malformed DFU reply: short")))
        let failed = CloudFlash.Failure.reportedFailed(deviceID: "d", events: ["spark/flash/status failed"])
        #expect(cause(failed) == .cloudReportedFailure("\(failed)"))
        // A BoardError keeps its own board, operation and cause.
        let original = BoardError(board: "a", operation: "flash", .misbehaved("no reset"))
        #expect(BoardError(board: "b", operation: "op", from: original) == original)
    }

    @Test("A device refusal through the emulated board reaches the scenario as its system error, and a wrong one fails the expectation")
    func refusalsMatchByCase() async throws {
        let entry = try boards(["boron"])[0]
        let ota = try entry.board.required((any ControlRequestUpdates).self)
        let foreign = entry.firmware.image(.otherPlatformApp)
        let context = ScenarioContext(board: entry.board, firmware: entry.firmware, recorder: NoRecording(), stepTimeout: .seconds(30))
        let refusal = try await context.expectRefusal(.otaInvalidPlatform, "a foreign app") { try await ota.update(to: foreign, cuttingPower: nil) }
        #expect(refusal.board == entry.board.name)
        await #expect(throws: ExpectationFailure.self) {
            try await context.expectRefusal(.otaIntegrityCheckFailed, "a foreign app") { try await ota.update(to: foreign, cuttingPower: nil) }
        }
    }

    @Test("Recording a power cut fails the case when the board records none in it, and records latency and landing when it does")
    func powerCutMustHaveHappened() async throws {
        let entry = try boards(["boron"])[0]
        await entry.board.beginCase()
        let context = ScenarioContext(board: entry.board, firmware: entry.firmware, recorder: NoRecording(), stepTimeout: .seconds(30))
        await #expect(throws: ExpectationFailure.self) { try await context.recordPowerCut() }

        let cutting = try entry.board.required((any CloudPowerCuts).self)
        try await cutting.update(to: entry.firmware.image(.nextApp), cuttingPower: PowerCut(.download, at: 0.5))
        try await context.recordPowerCut()
        // The next case starts from no cut again.
        await entry.board.beginCase()
        await #expect(throws: ExpectationFailure.self) { try await context.recordPowerCut() }
    }

    @Test("A scenario asking for a facet its board lacks gets a bench error naming it")
    func missingFacet() async throws {
        let bare = USBBoard(name: "photon-usb", platform: Self.photon, deviceID: "e00fce68000c000000000003")
        let context = ScenarioContext(board: bare, firmware: try boards(["photon"])[0].firmware, recorder: NoRecording(), stepTimeout: .seconds(1))
        #expect { _ = try context.facet((any PowerControl).self) } throws: {
            ($0 as? BoardError)?.cause == .missingFacet("\((any PowerControl).self)")
        }
    }
}

struct NoRecording: CaseRecording {
    func stepStarted(_ name: String) async {}
    func stepEnded(_ name: String, duration: Duration, failure: String?) async {}
    func measurement(_ measurement: ScenarioAPI.Measurement) async {}
}
