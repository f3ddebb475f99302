import Firmware
import ScenarioAPI
import TestSupport
import Testing

@Suite("Host guard")
struct HostGuardTests {
    static let boron = Platform(buildName: "boron")!

    @Test("Without a module table (a board in DFU) only what the platform decides is checked; with one, dependencies too")
    func dependenciesOnlyWithATable() throws {
        let app = try #require(ModuleFile(bytes: try FirmwareSet.application(for: Self.boron, size: 4096, seed: 5, systemVersion: 9_999)).modules.first)
        // The app needs a Device OS the board does not have.
        let installed = [InstalledModule(function: .system, index: 1, version: 1, dependencies: [])]
        let withTable = HostGuard.problems(app, on: Self.boron, installed: installed)
        #expect(withTable.contains { if case .unmetDependency = $0 { true } else { false } }, "\(withTable)")
        #expect(HostGuard.problems(app, on: Self.boron, installed: nil).isEmpty)
    }

    @Test("Another platform's image is refused with or without a table")
    func wrongPlatform() throws {
        let photon = Platform(buildName: "photon")!
        let app = try #require(ModuleFile(bytes: try FirmwareSet.application(for: photon, size: 4096, seed: 6)).modules.first)
        for installed in [nil, [InstalledModule]()] {
            let problems = HostGuard.problems(app, on: Self.boron, installed: installed)
            #expect(problems.contains { if case .wrongPlatform = $0 { true } else { false } }, "\(problems)")
        }
    }
}
