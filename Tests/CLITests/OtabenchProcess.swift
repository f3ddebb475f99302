import Foundation
import NIOConcurrencyHelpers
import TestSupport

/// Runs the built `otabench` executable as a user would.
struct OtabenchProcess {
    struct Result: Sendable {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The executable sits beside the test binary in the build folder.
    static let executable: URL = {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("otabench")
    }()

    /// `program`: another executable to start instead (setpriv, to run otabench as another user).
    /// Waited for from a thread of its own (see `onOwnThread`): many of these tests talk to an
    /// emulated board served from this process.
    static func run(_ arguments: [String], environment extra: [String: String] = [:], executable program: URL? = nil) async throws -> Result {
        try await onOwnThread { try runBlocking(arguments, environment: extra, executable: program) }
    }

    private static func runBlocking(_ arguments: [String], environment extra: [String: String], executable program: URL?) throws -> Result {
        let process = Process()
        process.executableURL = program ?? executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        // Leases go to a folder of this call's own unless the test names one: tests running
        // side by side must not hold each other's boards, nor a developer's real ones in the
        // host-wide folder.
        environment["OTABENCH_LEASE_DIR"] = FileManager.default.temporaryDirectory
            .appendingPathComponent("otabench-test-leases-\(UUID().uuidString)").path
        environment.merge(extra) { $1 }
        process.environment = environment
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read both pipes before waiting, so a large output cannot fill a pipe and stall the child.
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errData, as: UTF8.self))
    }

    /// Runs otabench as the nobody user, as a second person at the bench would (setpriv), from
    /// a copy in a folder anyone may enter: the checkout's build folder may sit under a home
    /// nobody cannot reach.
    static func runAsNobody(_ arguments: [String]) async throws -> Result {
        try await run(["--reuid=65534", "--regid=65534", "--clear-groups", try nobodysCopy().path] + arguments,
                executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
    }

    private static let copy = NIOLockedValueBox<URL?>(nil)

    private static func nobodysCopy() throws -> URL {
        try copy.withLockedValue { copy in
            if let copy { return copy }
            let folder = URL(fileURLWithPath: "/tmp/otabench-for-nobody-\(getpid())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
            let target = folder.appendingPathComponent("otabench")
            if !FileManager.default.fileExists(atPath: target.path) { try FileManager.default.copyItem(at: executable, to: target) }
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target.path)
            copy = target
            return target
        }
    }

    /// Starts a command that serves until stopped (`emulate`, `cloud serve`) and returns it
    /// with the lines it printed up to and including the one containing `ready`.
    static func serve(_ arguments: [String], ready: String) async throws -> (Process, [String]) {
        let (server, lines, _) = try await serve(arguments, ready: ready, environment: [:])
        return (server, lines)
    }

    /// The same, with more environment, also handing back its output to read the rest of.
    static func serve(_ arguments: [String], ready: String, environment extra: [String: String]) async throws -> (Process, [String], FileHandle) {
        let server = Process()
        server.executableURL = executable
        server.arguments = arguments
        if !extra.isEmpty { server.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 } }
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        var text = ""
        while !text.contains(ready) {
            let data = await output.fileHandleForReading.nextAvailable()
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        return (server, text.split(separator: "\n").map(String.init), output.fileHandleForReading)
    }
}
