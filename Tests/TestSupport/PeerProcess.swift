import Foundation
import Links

/// Runs an independent tool (lrzsz's `sb`, say) with its stdin and stdout joined to a
/// `ByteStream`, as if the tool were talking to a serial port.
public enum PeerProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var standardError: String
    }

    public static func run(_ executable: String, _ arguments: [String], over stream: some ByteStream, timeout: Duration = .seconds(60),
                           workingDirectory: String? = nil) async throws -> Result {
        let process = Process()
        ToolProcess.configure(process, executable, arguments)
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()

        // The tool's output: a blocking reader thread feeds an async stream.
        let (fromTool, continuation) = AsyncStream<[UInt8]>.makeStream()
        let reader = output.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                continuation.yield([UInt8](data))
            }
            continuation.finish()
        }
        let deadline = ContinuousClock.now + timeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await bytes in fromTool { try await stream.write(bytes) }
            }
            group.addTask {
                let writer = input.fileHandleForWriting
                while process.isRunning, ContinuousClock.now < deadline {
                    let bytes = try await stream.read(maximum: 4096, timeout: .milliseconds(20))
                    if !bytes.isEmpty { try? writer.write(contentsOf: Data(bytes)) }
                }
                if process.isRunning { process.terminate() }
                try? writer.close()
            }
            try await group.waitForAll()
        }
        await process.exited()
        let stderr = String(decoding: await errors.fileHandleForReading.readAll(), as: UTF8.self)
        return Result(status: process.terminationStatus, standardError: stderr)
    }
}

extension PeerProcess {
    /// Runs a tool with its stdin and stdout on the terminal at `path` (a pseudo-terminal's
    /// slave, say), as lrzsz runs on a serial line; stops it after `timeout`.
    public static func run(_ executable: String, _ arguments: [String], onTerminal path: String, timeout: Duration = .seconds(60),
                           workingDirectory: String? = nil) async throws -> Result {
        let process = Process()
        ToolProcess.configure(process, executable, arguments)
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        guard let terminal = FileHandle(forUpdatingAtPath: path) else { throw CocoaError(.fileNoSuchFile) }
        let errors = Pipe()
        process.standardInput = terminal
        process.standardOutput = terminal
        process.standardError = errors
        try process.run()
        try? terminal.close()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { process.terminate() }
            try await Task.sleep(for: .milliseconds(5))
        }
        let stderr = String(decoding: await errors.fileHandleForReading.readAll(), as: UTF8.self)
        return Result(status: process.terminationStatus, standardError: stderr)
    }
}

/// Launching an independent tool from a test.
public enum ToolProcess {
    /// Foundation's Process hands the child the signal mask of the thread that spawns it, and
    /// Swift's concurrency threads block nearly every signal; lrzsz times out with SIGALRM and
    /// would wait forever. A trampoline clears the mask and execs the tool.
    public static func configure(_ process: Process, _ executable: String, _ arguments: [String]) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
                             executable] + arguments
    }

    public struct Result: Sendable {
        public var status: Int32
        public var output: String
    }

    /// Runs a tool to completion, collecting stdout and stderr together, waited for from a
    /// thread of its own (see `onOwnThread`).
    public static func run(_ executable: String, _ arguments: [String]) async throws -> Result {
        try await onOwnThread { try runBlocking(executable, arguments) }
    }

    /// What a tool printed, stdout and stderr apart.
    public struct Captured: Sendable {
        public var status: Int32
        public var output: String
        public var errors: String
    }

    /// Runs a tool to completion with stdin closed, stdout and stderr apart, ended after
    /// `timeout` if it has not finished by then.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           timeout: Duration) async throws -> Captured {
        let process = Process()
        configure(process, executable, arguments)
        if let environment { process.environment = environment }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        terminate(process, after: timeout)
        async let errorData = errors.fileHandleForReading.readAll()
        let outputData = await output.fileHandleForReading.readAll()
        let errorText = String(decoding: await errorData, as: UTF8.self)
        await process.exited()
        return Captured(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self), errors: errorText)
    }

    /// Ends `process` once `timeout` has passed, unless it ended first or `unless` says not to
    /// by then: one timer, no polling.
    public static func terminate(_ process: Process, after timeout: Duration, unless spared: (@Sendable () -> Bool)? = nil) {
        let running = Handed(process)
        let nanoseconds = Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
            if running.value.isRunning, !(spared?() ?? false) { running.value.terminate() }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        configure(process, executable, arguments)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
    }
}
