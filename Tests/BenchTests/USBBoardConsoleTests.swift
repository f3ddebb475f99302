@testable import Bench
@testable import Boards
import Firmware
import Foundation
import Serial
import TestSupport
import Testing

/// A real board's console: its CDC tty, found again after each reset. The tty here is a
/// pseudo-terminal (umockdev's emulated ttys refuse termios requests); the udev lookup that
/// finds a real one by device id is tested under umockdev in USBTests.
@Suite("USB board console", .timeLimit(.minutes(1)))
struct USBBoardConsoleTests {
    @Test("Lines reach scenarios and the log; the tty is found again after it goes away")
    func capturesAcrossResets() async throws {
        let folder = try temporaryFolder("otabench-usb-console")
        let link = folder.appendingPathComponent("ttyACM0")
        var terminal = try PseudoTerminal()
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: terminal.slavePath)
        let log = folder.appendingPathComponent("argon.log")
        let board = USBBoard(name: "argon", platform: Platform(buildName: "argon")!, deviceID: "e00fce68000c000000000001",
                             consoleLog: log, tty: { FileManager.default.fileExists(atPath: link.path) ? link.path : nil })
        #expect(board.capabilities.contains(.console))
        #expect(await board.consoleLog == log)
        try await board.waitUntilConsoleAttached(to: terminal.slavePath)
        try await terminal.master.write(Array("0000000100 [app] INFO: first boot\r\n".utf8))
        #expect(try await board.waitForConsoleLine(containing: "first boot", after: 0, timeout: .seconds(5)).hasSuffix("first boot"))

        terminal.hangUp()
        try FileManager.default.removeItem(at: link)
        terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: terminal.slavePath)
        try await board.waitUntilConsoleAttached(to: terminal.slavePath)
        try await terminal.master.write(Array("0000000050 [app] INFO: second boot\r\n".utf8))
        let seen = await board.consoleLines().count
        #expect(try await board.waitForConsoleLine(containing: "second boot", after: max(0, seen - 1), timeout: .seconds(5)).hasSuffix("second boot"))
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("first boot") && text.contains("gone") && text.contains("second boot"))
    }

    @Test("Without a console log, waiting for a line says why it cannot")
    func noConsole() async throws {
        let board = USBBoard(name: "argon", platform: Platform(buildName: "argon")!, deviceID: "e00fce68000c000000000001")
        #expect(!board.capabilities.contains(.console))
        #expect(board.facet((any Console).self) == nil)
        await #expect { try await board.waitForConsoleLine(containing: "x", after: 0, timeout: .milliseconds(10)) } throws: {
            ($0 as? BoardError)?.cause == .missingFacet("Console")
        }
    }
}

@Suite("USB board power", .timeLimit(.minutes(10)))
struct USBBoardPowerTests {
    @Test("An inventory board with power commands can be powered off and on, and says it has power control")
    func commandSwitch() async throws {
        let folder = try temporaryFolder("otabench-usb-power")
        let calls = folder.appendingPathComponent("calls")
        let tool = folder.appendingPathComponent("relay")
        try "#!/bin/sh\necho \"$*\" >> '\(calls.path)'\n".write(to: tool, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        let inventory = try Inventory.parse("""
            [[board]]
            name = "argon-3"
            platform = "argon"
            emulated = false
            device-id = "e00fce68000c0000000000aa"
            power-on = ["\(tool.path)", "on"]
            power-off = ["\(tool.path)", "off"]
            """, file: "lab.toml")
        let bench = try BoardUnderTest.make(inventory.entries[0], serial: 1)
        #expect(bench.board.capabilities.contains(.powerControl))
        try await bench.board.required((any PowerControl).self).powerOff()
        try await bench.board.required((any PowerControl).self).powerOn()
        #expect(try String(contentsOf: calls, encoding: .utf8) == "off argon-3\non argon-3\n")
        let plain = USBBoard(name: "b", platform: Platform(buildName: "argon")!, deviceID: "e00fce68000c0000000000ab")
        #expect(!plain.capabilities.contains(.powerControl))
        #expect(plain.facet((any PowerControl).self) == nil)
    }
}
