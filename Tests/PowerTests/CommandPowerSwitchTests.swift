import Foundation
import Links
import Power
import TestSupport
import Testing

/// The command hook runs real programs: argv exactly as given, time limits, failures.
@Suite("Power by command hook", .timeLimit(.minutes(1)))
struct CommandPowerSwitchTests {
    static func folder() throws -> URL { try temporaryFolder("otabench-power") }

    /// A relay tool that records each argument it was given, one per line.
    static func recorder(in folder: URL) throws -> (tool: String, record: URL) {
        let record = folder.appendingPathComponent("args")
        let tool = folder.appendingPathComponent("relay")
        try "#!/bin/sh\nprintf '%s\\n' \"$@\" > '\(record.path)'\necho switched\n".write(to: tool, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        return (tool.path, record)
    }

    @Test("The argv reaches the program exactly, the board's name as one last argument; nothing is interpreted")
    func argvExactly() async throws {
        let (tool, record) = try Self.recorder(in: try Self.folder())
        let tricky = ["--port", "3", "it's $HOME; rm -rf / `id` \"quoted\"", "", "*"]
        let power = CommandPowerSwitch(hook: PowerCommandHook(on: [tool] + tricky, off: [tool, "off"]), board: "bench board 1")
        try await power.setPower(true)
        #expect(try String(contentsOf: record, encoding: .utf8) == (tricky + ["bench board 1"]).map { $0 + "\n" }.joined())
        #expect(try await power.state() == .on)
        #expect(power.lastOutput == "switched\n")
        try await power.setPower(false)
        #expect(try String(contentsOf: record, encoding: .utf8) == "off\nbench board 1\n")
        #expect(try await power.state() == .off)
    }

    @Test("A command that hangs is stopped at its time limit, and the switch says so")
    func timeout() async throws {
        let folder = try Self.folder()
        let tool = folder.appendingPathComponent("stuck-relay")
        let started = folder.appendingPathComponent("started")
        // The relay tool says it is running (its pid), then hangs.
        try "#!/bin/sh\necho $$ > \(started.path).new\nmv \(started.path).new \(started.path)\nexec sleep 600\n"
            .write(to: tool, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        let clock = ManualClock()
        let power = CommandPowerSwitch(hook: PowerCommandHook(on: [tool.path], off: []), board: "b1", timeout: .milliseconds(300), clock: clock)
        let switching = Task { try await power.setPower(true) }
        await clock.waitForSleepers()
        while !FileManager.default.fileExists(atPath: started.path) { try await Task.sleep(for: .milliseconds(10)) }
        let pid = try #require(pid_t(try String(contentsOf: started, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Short of its limit the command keeps running; at it, it is stopped.
        clock.advance(by: .milliseconds(299))
        #expect(kill(pid, 0) == 0)
        clock.advance(by: .milliseconds(1))
        await #expect { try await switching.value } throws: { "\($0)".contains("did not finish within 0.3 seconds") }
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the stuck command was left running")
        #expect(try await power.state() == .unknown)
    }

    @Test("A failing command's status and output reach the error; a missing program or command is named")
    func failures() async throws {
        let folder = try Self.folder()
        let tool = folder.appendingPathComponent("broken-relay")
        try "#!/bin/sh\necho 'relay 3 not found' >&2\nexit 3\n".write(to: tool, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        let broken = CommandPowerSwitch(hook: PowerCommandHook(on: [tool.path], off: []), board: "b1")
        await #expect { try await broken.setPower(true) } throws: {
            "\($0)".contains("exited with status 3") && "\($0)".contains("relay 3 not found")
        }
        await #expect { try await broken.setPower(false) } throws: { "\($0)".contains("no command to switch it off") }
        let missing = CommandPowerSwitch(hook: PowerCommandHook(on: ["otabench-no-such-relay-tool"], off: []), board: "b1")
        await #expect { try await missing.setPower(true) } throws: { "\($0)".contains("no such program: otabench-no-such-relay-tool") }
    }
}
