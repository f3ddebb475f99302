import Foundation

/// Debian's Chromium, headless: renders a page from disk as a person's browser would, and
/// says what it printed on its console.
public enum HeadlessChromium {
    public static let path = "/usr/bin/chromium"

    public struct Rendering: Sendable {
        /// The document after the browser built it (scripts run, parser fixes applied).
        public var dom: String
        /// Lines the page wrote to the browser console: errors, uncaught exceptions, warnings.
        public var console: [String]
    }

    /// Loads `file`, dumps its DOM and collects its console; with `screenshot`, also renders it
    /// to that PNG.
    /// Waited for from a thread of its own (see `onOwnThread`).
    public static func render(_ file: URL, screenshot: URL? = nil, timeout: TimeInterval = 60) async throws -> Rendering {
        try await onOwnThread { try renderBlocking(file, screenshot: screenshot, timeout: timeout) }
    }

    private static func renderBlocking(_ file: URL, screenshot: URL?, timeout: TimeInterval) throws -> Rendering {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        // As root (CI containers) Chromium needs --no-sandbox; the page is our own file.
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
                      "--enable-logging=stderr", "--v=0", "--window-size=1280,1600"]
        let dump = try run(common + ["--dump-dom", file.absoluteString], timeout: timeout)
        if let screenshot {
            _ = try run(common + ["--screenshot=\(screenshot.path)", file.absoluteString], timeout: timeout)
        }
        let console = dump.error.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Rendering(dom: dump.output, console: console)
    }

    private static func run(_ arguments: [String], timeout: TimeInterval) throws -> (output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        // Read both pipes to the end before waiting, so neither fills and stalls the browser.
        let group = DispatchGroup()
        nonisolated(unsafe) var errorData = Data()
        group.enter()
        DispatchQueue.global().async {
            errorData = error.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        killer.cancel()
        return (String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }
}
