import Firmware
import Foundation
import TestSupport
import Testing

/// Bad input and bad places: each is one line saying what was being done and what to try,
/// exit 2, before any work; nothing of the user's is lost.
@Suite("Clear errors and nothing lost", .serialized, .timeLimit(.minutes(10)))
struct ClearErrorTests {
    @Test("inspect refuses what is not a file, saying what it is: a device, a FIFO, a folder, a symlink loop, a missing file")
    func inspectNonFiles() async throws {
        let folder = try temporaryFolder("otabench-inspect-odd")
        let fifo = folder.appendingPathComponent("pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let loop = folder.appendingPathComponent("loop").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        for (path, words) in [("/dev/zero", "character device"), (fifo, "pipe (FIFO)"), (folder.path, "directory"),
                              (loop, "symbolic links"), (folder.appendingPathComponent("none.bin").path, "no such file")] {
            let result = try await OtabenchProcess.run(["inspect", path])
            #expect(result.status == 2, "\(path): \(result.standardError)")
            #expect(result.standardError.contains(words), "\(path): \(result.standardError)")
            #expect(!result.standardError.contains("permission") && !result.standardError.contains("NSCocoaErrorDomain"), "\(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1)
        }
    }

    @Test("A module file cut short by one byte is named as cut short, with how much is missing")
    func truncatedModule() async throws {
        let module = try SampleModules.userApp(for: SampleModules.platform("boron"), systemVersion: 4100)
        let path = try InspectCommandTests.temporaryFile(Array(module.dropLast()), name: "short.bin")
        let result = try await OtabenchProcess.run(["inspect", path])
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("cut short") && result.standardOutput.contains("(1 missing)"), "\(result.standardOutput)")
        #expect(throws: ModuleReadError.truncated(length: module.count - 1, expected: module.count, prefixOffset: 0)) {
            try ModuleFile(bytes: Array(module.dropLast()))
        }
    }

    @Test("keygen into a folder that does not exist says so and what to do")
    func keygenMissingFolder() async throws {
        let folder = try temporaryFolder("otabench-keygen")
        let out = folder.appendingPathComponent("keys/release").path
        let result = try await OtabenchProcess.run(["keygen", "--out", out])
        #expect(result.status == 2)
        #expect(result.standardError.contains("does not exist") && result.standardError.contains("mkdir -p"), "\(result.standardError)")
        #expect(!result.standardError.lowercased().contains("permission"))
    }

    @Test("sweep refuses an application size its slot cannot hold, before building anything")
    func sweepSizes() async throws {
        for size in ["99999999999999", "2147483648", "0", "-1"] {
            let result = try await OtabenchProcess.run(["sweep", "--app-size=\(size)"])
            #expect(result.status == 2, "\(size): \(result.standardError)")
            #expect(result.standardError.contains("--app-size must be between 1024 and"), "\(size): \(result.standardError)")
        }
    }

    @Test("run refuses --jobs 0, --repeat 0 and negative retries as usage errors")
    func runCounts() async throws {
        for arguments in [["--jobs", "0"], ["--repeat", "0"], ["--retries", "-1"]] {
            let result = try await OtabenchProcess.run(["run", "--list"] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains(arguments[0]), "\(result.standardError)")
        }
    }

    @Test("report and history never make a database, and --db on somebody else's SQLite file leaves it alone")
    func databases() async throws {
        let folder = try temporaryFolder("otabench-db")
        let missing = folder.appendingPathComponent("nothing.sqlite").path
        for arguments in [["report", "--db", missing, "--out", folder.path], ["history", "--db", missing]] {
            let result = try await OtabenchProcess.run(arguments)
            #expect(result.status == 2, "\(result.standardError)")
            #expect(result.standardError.contains("no results database"), "\(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
        let foreign = folder.appendingPathComponent("inventory-of-parts.sqlite").path
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        sqlite.arguments = ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table parts (name text)'); c.commit()", foreign]
        try sqlite.run()
        await sqlite.exited()
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        for arguments in [["report", "--db", foreign, "--out", folder.path], ["history", "--db", foreign],
                          ["run", "--scenario", "ota/happy-path", "--platform", "boron", "--db", foreign, "--report-dir", folder.path]] {
            let result = try await OtabenchProcess.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains("is not an otabench results database"), "\(result.standardError)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == before, "the foreign database is unchanged")
    }

    @Test("A report folder that cannot be written is found before any case runs, in plain words")
    func readOnlyReportFolder() async throws {
        let folder = try temporaryFolder("otabench-ro")
        // Root-owned, 0755: nobody cannot write it.
        let result = try await OtabenchProcess.runAsNobody(["run", "--scenario", "ota/happy-path", "--platform", "boron",
                                        "--report-dir", folder.path, "--db", "/tmp/otabench-nobody-\(UUID().uuidString).sqlite"])
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.standardError.contains("cannot write reports to \(folder.path): Permission denied"), "\(result.standardError)")
        #expect(!result.standardError.contains("running"), "no case ran: \(result.standardError)")
    }

    @Test("emulate --pty --links DIR leaves what was in DIR, and refuses to replace a file that has a board's name")
    func linksFolderKept() async throws {
        let folder = try temporaryFolder("otabench-links")
        let mine = folder.appendingPathComponent("notes.txt")
        try "keep me".write(to: mine, atomically: true, encoding: .utf8)
        let (server, lines) = try await OtabenchProcess.serve(["emulate", "--pty", "--platform", "boron", "--links", folder.path], ready: "serving")
        #expect(lines.contains { $0.hasPrefix("serving") }, "\(lines)")
        server.interrupt()
        await server.exited()
        #expect(try String(contentsOf: mine, encoding: .utf8) == "keep me")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["notes.txt"], "the board's links went, nothing else")

        // A file of the user's where a board's link would go is not replaced.
        let taken = folder.appendingPathComponent("boron")
        try "mine too".write(to: taken, atomically: true, encoding: .utf8)
        let refused = try await OtabenchProcess.run(["emulate", "--pty", "--platform", "boron", "--links", folder.path])
        #expect(refused.status == 2)
        #expect(refused.standardError.contains("exists and is not a link"), "\(refused.standardError)")
        #expect(try String(contentsOf: taken, encoding: .utf8) == "mine too")

        // A folder it made itself it removes again.
        let made = folder.appendingPathComponent("made").path
        let (again, _) = try await OtabenchProcess.serve(["emulate", "--pty", "--platform", "boron", "--links", made], ready: "serving")
        again.interrupt()
        await again.exited()
        #expect(!FileManager.default.fileExists(atPath: made))
    }
}
