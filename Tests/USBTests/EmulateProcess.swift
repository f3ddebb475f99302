import Foundation
import TestSupport

/// `otabench emulate --usb` running in a process of its own, as a developer starts it in one
/// shell, and the tools run against it from another. It starts without umockdev's preload
/// (whatever this test process runs under), so it must put itself under it to be heard.
/// Sendable by hand: Process is thread-safe for what is used here (terminate, isRunning).
struct EmulateProcess: @unchecked Sendable {
    let process: Process
    /// What it printed up to "serving": a line per board (name, ids, device id), then the
    /// client's environment.
    let lines: [String]
    /// Its testbed: the `UMOCKDEV_DIR` a client needs.
    let directory: String

    /// The built otabench beside this test binary.
    static let executable: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("otabench")

    struct Unready: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts it and waits, at most `timeout`, for it to say it serves.
    static func start(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> EmulateProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["emulate", "--usb"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LD_PRELOAD")
        environment.removeValue(forKey: "UMOCKDEV_DIR")
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Bounded: a server that never says it serves is ended, which ends the read below.
        let ready = ReadyFlag()
        ToolProcess.terminate(process, after: timeout, unless: { ready.isSet })
        defer { ready.set() }
        var text = ""
        let reader = output.fileHandleForReading
        let deadline = ContinuousClock.now + timeout
        while !text.contains("serving"), ContinuousClock.now < deadline {
            let data = await reader.nextAvailable()
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard text.contains("serving"), let directory = lines.first(where: { $0.hasPrefix("UMOCKDEV_DIR=") })?.dropFirst("UMOCKDEV_DIR=".count) else {
            if process.isRunning { process.terminate() }
            let said = String(decoding: await errors.fileHandleForReading.readAll(), as: UTF8.self)
            throw Unready(description: "emulate --usb did not start serving: \(text) \(said)")
        }
        // Drain its error output, so a chatty server never blocks on a full pipe.
        let errorHandle = Handed(errors.fileHandleForReading)
        Thread { _ = errorHandle.value.readDataToEndOfFile() }.start()
        return EmulateProcess(process: process, lines: lines, directory: String(directory))
    }

    /// The device id of the board the inventory names `name` (the platform, for the default boards).
    func deviceID(_ name: String) -> String? {
        lines.first { $0.hasPrefix(name + "\t") }?.split(separator: "\t").dropFirst(2).first.map(String.init)
    }

    /// What a client of the emulated boards needs, and nothing of this test process's own testbed.
    var clientEnvironment: [String: String] {
        ["UMOCKDEV_DIR": directory, "LD_PRELOAD": "libumockdev-preload.so.0", "PATH": "/usr/bin:/bin",
         // otabench's own leases in a folder of this server's, not the host's.
         "OTABENCH_LEASE_DIR": directory + "/leases", "NO_COLOR": "1"]
    }

    /// Set once the server serves, so its watchdog lets it be.
    private final class ReadyFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    /// Ends it and waits; it removes its testbed on the way out.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// How many udev monitors listen in the testbed now: umockdev's preload binds each one's
    /// netlink socket to `event<fd>` in it, and a socket whose process is gone refuses.
    func listeningMonitors() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("event") }.filter { name in
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let path = Array((directory + "/" + name).utf8CString)
            guard path.count <= MemoryLayout.size(ofValue: address.sun_path) else { return false }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.map { UInt8(bitPattern: $0) }) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
            }
        }.count
    }

    /// Runs a tool against the boards, stdout and stderr apart, within `timeout`.
    func run(_ tool: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String, errors: String) {
        let result = try await ToolProcess.run(tool, arguments, environment: clientEnvironment, timeout: timeout)
        return (result.status, result.output, result.errors)
    }
}
