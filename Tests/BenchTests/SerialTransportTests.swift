@testable import Bench
@testable import Boards
import Emulator
import Firmware
import Foundation
import GRDB
import Scenarios
import Testing

/// `serial = "pty"`: the runner reaches emulated boards' consoles through pseudo-terminals,
/// the termios port and the console capture, the path a real board's tty takes.
@Suite("Emulated boards through their pseudo-terminals", .timeLimit(.minutes(3)))
struct SerialTransportTests {
    @Test("The library passes through the real serial path; console waits and YMODEM go over the pty; logs are artifacts")
    func libraryOverPseudoTerminals() async throws {
        let inventory = try Inventory.parse("""
            [[board]]
            name = "photon-pty"
            platform = "photon"
            serial = "pty"

            [[board]]
            name = "boron-pty"
            platform = "boron"
            serial = "pty"
            """, file: "pty.toml")
        #expect(inventory.entries.allSatisfy { $0.serial == .pseudoTerminal })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-console-\(UUID().uuidString)")
        let boards = try inventory.entries.enumerated().map { try BoardUnderTest.make($1, serial: $0 + 1, consoleDirectory: folder) }
        let path = temporaryDatabase()
        let store = try ResultsStore(path: path)
        var options = RunOptions()
        options.jobs = 2
        options.scenarioPatterns = ["ota/happy-path", "ota/serial-ymodem"]
        let runner = Runner(scenarios: ScenarioLibrary.all, boards: boards, store: store, options: options)
        let summary = try await runner.run()
        #expect(summary.passed, "\(summary.results.filter { $0.status.failsRun })")
        // Both boards run Device OS before 6.0.0 (1.5.2 and 5.8.0): both take YMODEM.
        #expect(summary.results.contains { $0.board == "photon-pty" && $0.scenario == "ota/serial-ymodem" && $0.status == .passed })
        #expect(summary.results.contains { $0.board == "boron-pty" && $0.scenario == "ota/serial-ymodem" && $0.status == .passed })

        // What the boards printed came through the pty into their logs.
        for board in boards {
            let log = folder.appendingPathComponent("\(board.board.name).log")
            let text = try String(contentsOf: log, encoding: .utf8)
            #expect(text.contains("firmware update complete"), "\(board.board.name)")
            #expect(text.contains("-- port "))
            let lines = try await board.board.required((any Console).self).lines()
            #expect(lines.contains { $0.contains("bootloader: boot") })
        }
        let logs = try await DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT content FROM artifact WHERE name = 'console-log'")
        }
        #expect(Set(logs) == Set(boards.map { folder.appendingPathComponent("\($0.board.name).log").path }))
    }

    @Test("serial = \"pty\" is for emulated boards, and its values are checked")
    func inventoryKey() throws {
        #expect(throws: InventoryError.self) {
            try Inventory.parse("[[board]]\nname = \"a\"\nplatform = \"argon\"\nserial = \"usb\"\n", file: "bad.toml")
        }
        #expect {
            try Inventory.parse("[[board]]\nname = \"a\"\nplatform = \"argon\"\nemulated = false\ndevice-id = \"e00fce68000c000000000001\"\nserial = \"pty\"\n",
                                file: "bad.toml")
        } throws: { "\($0)" == "bad.toml:6: key serial: only for emulated boards: a real board's console is its USB tty" }
    }
}
