import Firmware
import Foundation
import Links
import Serial
import Testing

/// The listening-mode client against a board that answers badly, played on the master side
/// of a real pseudo-terminal.
@Suite("Listening-mode client, bad answers", .timeLimit(.minutes(1)))
struct ListeningModeClientTests {
    /// A fake board: answers each key with `answers[key]`.
    static func fakeBoard(_ terminal: PseudoTerminal, _ answers: [Character: String]) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                guard let bytes = try? await terminal.master.read(maximum: 16, timeout: .milliseconds(20)) else { return }
                for byte in bytes {
                    if let answer = answers[Character(UnicodeScalar(byte))] { try? await terminal.master.write(Array(answer.utf8)) }
                }
            }
        }
    }

    @Test("Older Device OS's id line, extra detail lines, and log noise before the answer")
    func olderForms() async throws {
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        let board = Self.fakeBoard(terminal, [
            "i": "Your device id is 0123456789ABCDEF01234567\r\nIMEI: 352753090000000\r\nICCID: 8934076500002589174\r\n",
            "v": "system firmware version: 1.2.1\r\n",
        ])
        defer { board.cancel() }
        try await terminal.master.write(Array("0000012345 [app] INFO: noise before the question\r\n".utf8))
        let port = try SerialPort.open(terminal.slavePath)
        defer { port.closeNow() }
        let client = ListeningModeClient(stream: port)
        let identity = try await client.identify()
        #expect(identity.deviceID == "0123456789abcdef01234567")
        #expect(identity.details == ["IMEI": "352753090000000", "ICCID": "8934076500002589174"])
        #expect(try await client.systemVersion() == "1.2.1")
    }

    @Test("A module table that is not JSON, or not the table, is a clear error")
    func garbageModuleTable() async throws {
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        let board = Self.fakeBoard(terminal, ["s": "{\"p\":6,\"m\":[{\"s\":\"big\"}]}\r\n", "m": "\u{1}\u{2}garbage\r\n"])
        defer { board.cancel() }
        let port = try SerialPort.open(terminal.slavePath)
        defer { port.closeNow() }
        let client = ListeningModeClient(stream: port, timeout: .milliseconds(300))
        await #expect { try await client.moduleTable() } throws: {
            "\($0)".hasPrefix("the board's answer to 's' makes no sense: \"{\\\"p\\\":6")
        }
        await #expect { try await client.macAddress() } throws: {
            "\($0)".hasPrefix("the board's answer to 'm' makes no sense")
        }
    }

    @Test("Silence is a timeout that says what to check")
    func silence() async throws {
        let terminal = try PseudoTerminal()
        defer { terminal.hangUp() }
        let port = try SerialPort.open(terminal.slavePath)
        defer { port.closeNow() }
        let client = ListeningModeClient(stream: port, timeout: .milliseconds(200))
        await #expect(throws: ListeningModeError.noAnswer(.identify, .milliseconds(200))) { try await client.identify() }
    }

    @Test("A board that leaves mid-answer ends the question with disconnected")
    func leaves() async throws {
        let terminal = try PseudoTerminal()
        let port = try SerialPort.open(terminal.slavePath)
        defer { port.closeNow() }
        let client = ListeningModeClient(stream: port)
        let board = Task {
            _ = try await terminal.master.read(maximum: 1, timeout: .seconds(5))
            try await terminal.master.write(Array("{\"p\":12,\"m\":[".utf8))
            try await Task.sleep(for: .milliseconds(50))
            terminal.hangUp()
        }
        await #expect(throws: LinkError.disconnected) { try await client.moduleTable() }
        _ = await board.result
    }
}
