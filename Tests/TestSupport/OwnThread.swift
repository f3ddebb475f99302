import Foundation

/// Runs blocking work (waiting for a child process, reading a pipe to its end) on a thread of
/// its own and awaits it. Swift's concurrency pool has one thread per core: a test that blocks a
/// pool thread while a child talks to a server in this process leaves that server, and every
/// other test's timers, one thread fewer; on two cores two such waits stop them all.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// Foundation's Process and FileHandle predate Sendable; a test hands one to the thread that
/// waits on it and touches it no more until that thread is done.
public struct Handed<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

extension Process {
    /// Waits for the child to end without holding a pool thread.
    public func exited() async {
        let process = Handed(self)
        await onOwnThread { process.value.waitUntilExit() }
    }
}

extension FileHandle {
    /// Everything up to end of file, read without holding a pool thread.
    public func readAll() async -> Data {
        let handle = Handed(self)
        return await onOwnThread { handle.value.readDataToEndOfFile() }
    }

    /// What is there now, or the next that arrives (empty at end of file), without holding a pool thread.
    public func nextAvailable() async -> Data {
        let handle = Handed(self)
        return await onOwnThread { handle.value.availableData }
    }

    /// What arrives until `text` has come `count` times, or the end of file: a test reads a
    /// process's progress this way until enough cases have passed to stop it mid-run.
    public func read(untilSeen text: String, times count: Int) async -> String {
        var said = ""
        while said.components(separatedBy: text).count <= count {
            let data = await nextAvailable()
            if data.isEmpty { break }
            said += String(decoding: data, as: UTF8.self)
        }
        return said
    }
}
