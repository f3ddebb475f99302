import Foundation
import Links
import NIOConcurrencyHelpers

/// Everything one board prints on its USB serial port, kept in a timestamped log file and in
/// memory for scenarios, across the board's resets: when its tty disappears the capture
/// notes it and opens the board's port again as soon as `locate` finds it (by device id).
///
/// The file holds every byte as the board sent it, each line prefixed with the UTC time it
/// arrived ("2026-11-29T12:00:00.123Z "); lines otabench adds itself begin with "-- ".
/// Others may use the port meanwhile through `stream()`: what the board answers them is
/// logged too.
public actor ConsoleCapture {
    public struct Line: Hashable, Sendable {
        public var time: Date
        public var text: String
    }

    public nonisolated let logFile: URL
    private let locate: @Sendable () async -> String?
    private let bitRate: Int
    /// How often to look for the port while the board has none.
    private let retryInterval: Duration
    private let file: FileHandle
    private var reader: Task<Void, Never>?
    private var port: SerialPort?
    /// The device the open port leads to, links resolved (/dev/pts/3, /dev/ttyACM0).
    public private(set) var attachedDevice: String?
    private var partial: [UInt8] = []
    private var partialStarted = Date()
    private var kept: [Line] = []
    /// Lines dropped from the front of `kept`: line n is kept[n - dropped].
    private var dropped = 0
    private let memoryLimit: Int
    private var taps: [UInt64: Tap] = [:]
    private var nextTap: UInt64 = 0
    public private(set) var reopenings = 0
    /// What the limits on waits (for a line, for the port) are measured on. The waits end at the
    /// line or the port itself; a limit only stops a board that never gets there.
    nonisolated let clock: any Clock<Duration>
    /// Who waits for a line or for the port, woken as either arrives.
    private let changes = StateWaiters<Progress>()

    /// What the capture's waits look at.
    private struct Progress {
        var lineCount: Int
        var attachedDevice: String?
    }

    private var progress: Progress { Progress(lineCount: lineCount, attachedDevice: port == nil ? nil : attachedDevice) }

    /// One conversation's copy of what the board prints, and who reads it.
    final class Tap: Sendable {
        struct Held {
            var bytes: [UInt8] = []
            var attached = true
        }
        let held = NIOLockedValueBox(Held())
        /// Waits for the tap to be readable: bytes in it, or the port gone.
        let arrivals = StateWaiters<Bool>()

        var readable: Bool { held.withLockedValue { !$0.bytes.isEmpty || !$0.attached } }

        func received(_ bytes: [UInt8]) {
            arrivals.wake(held.withLockedValue { $0.bytes += bytes; return true })
        }

        func setAttached(_ attached: Bool) {
            arrivals.wake(held.withLockedValue { $0.attached = attached; return !$0.bytes.isEmpty || !attached })
        }
    }

    /// `locate` gives the port's current path, or nil while the board has none (a reset, DFU).
    public init(logFile: URL, bitRate: Int = 9600, memoryLimit: Int = 100_000, retryInterval: Duration = .milliseconds(10),
                clock: any Clock<Duration> = ContinuousClock(), locate: @escaping @Sendable () async -> String?) throws {
        // An existing log is appended to, never truncated.
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        guard let file = FileHandle(forWritingAtPath: logFile.path) else {
            throw SerialPortError(path: logFile.path, operation: "write the console log", reason: "cannot create the file")
        }
        file.seekToEndOfFile()
        self.file = file
        self.logFile = logFile
        self.locate = locate
        self.bitRate = bitRate
        self.memoryLimit = memoryLimit
        self.retryInterval = retryInterval
        self.clock = clock
    }

    /// Follows `path` itself: a udev by-id link, or an emulated board's pty link.
    public init(logFile: URL, following path: String, bitRate: Int = 9600, clock: any Clock<Duration> = ContinuousClock()) throws {
        try self.init(logFile: logFile, bitRate: bitRate, clock: clock) {
            FileManager.default.fileExists(atPath: path) ? path : nil
        }
    }

    public func start() {
        guard reader == nil else { return }
        reader = Task { await self.follow() }
    }

    /// Stops reading, writes out a partial last line, closes the port and the file.
    public func stop() async {
        reader?.cancel()
        await reader?.value
        reader = nil
        flushPartial()
        try? file.synchronize()
        try? file.close()
    }

    // MARK: For scenarios

    /// Lines printed so far (the most recent `memoryLimit`), without their line endings.
    public var lines: [Line] { kept }
    /// How many lines the board printed since the capture started.
    public var lineCount: Int { dropped + kept.count }
    /// The lines numbered `mark` and later (numbered as `lineCount` counts), those still kept.
    public func linesPrinted(since mark: Int) -> [Line] { Array(kept.dropFirst(max(0, mark - dropped))) }

    /// Waits for a line containing `text`, among those numbered `after` and later; returns it.
    public func waitForLine(containing text: String, after: Int = 0, timeout: Duration) async throws -> String {
        guard let line = try await finished(within: timeout, clock: clock, { try await self.line(containing: text, after: after) }) else {
            throw LinkError.timedOut
        }
        return line
    }

    private func line(containing text: String, after: Int) async throws -> String {
        var next = after
        while true {
            while next < lineCount {
                if next >= dropped, kept[next - dropped].text.contains(text) { return kept[next - dropped].text }
                next += 1
            }
            let seen = next
            try await changes.wait(until: { $0.lineCount > seen }, now: { progress })
        }
    }

    /// The port for a conversation (listening mode, YMODEM): reads see what the board prints
    /// from now on, writes go to the board's current port.
    public func stream() -> ConsoleStream {
        nextTap += 1
        let tap = Tap()
        tap.setAttached(port != nil)
        taps[nextTap] = tap
        return ConsoleStream(capture: self, id: nextTap, tap: tap)
    }

    func release(_ id: UInt64) { taps[id] = nil }

    func write(_ bytes: [UInt8]) async throws {
        guard let port else { throw LinkError.disconnected }
        try await port.write(bytes)
    }

    /// Waits until the capture has the board's port open; with `device`, that port: after a
    /// reset the capture may still hold the line that went away. The limit stops a port that never
    /// comes, far beyond what a loaded machine makes of the wait.
    public func waitUntilAttached(to device: String? = nil, timeout: Duration = .seconds(30)) async throws {
        let wanted = device.map(Self.resolved)
        guard try await finished(within: timeout, clock: clock, { try await self.attachment(to: wanted) }) != nil else {
            throw LinkError.timedOut
        }
    }

    private func attachment(to wanted: String?) async throws {
        try await changes.wait(until: { $0.attachedDevice != nil && (wanted == nil || $0.attachedDevice == wanted) }, now: { progress })
    }

    // MARK: Reading

    private func follow() async {
        while !Task.isCancelled {
            guard let path = await locate(), let opened = try? SerialPort.open(path, bitRate: bitRate) else {
                try? await Task.sleep(for: retryInterval)
                continue
            }
            port = opened
            attachedDevice = Self.resolved(path)
            attachmentChanged()
            note("port \(path) opened")
            do {
                while !Task.isCancelled {
                    let bytes = try await opened.read(maximum: 1 << 16, timeout: .milliseconds(50))
                    if !bytes.isEmpty { received(bytes) }
                }
            } catch {
                flushPartial()
                note("port \(path) gone (the board reset, entered DFU or lost power)")
                reopenings += 1
            }
            port = nil
            attachedDevice = nil
            attachmentChanged()
            opened.closeNow()
        }
    }

    private func received(_ bytes: [UInt8]) {
        for tap in taps.values { tap.received(bytes) }
        let now = Date()
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 16)
        var start = 0
        if partial.isEmpty { partialStarted = now }
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            let line = partial + bytes[start...index]
            output += Array(Self.timestamp(partialStarted).utf8) + line
            keep(Line(time: partialStarted, text: Self.text(line)))
            partial = []
            partialStarted = now
            start = index + 1
        }
        partial += bytes[start...]
        if !output.isEmpty { file.write(Data(output)) }
    }

    private func flushPartial() {
        guard !partial.isEmpty else { return }
        file.write(Data(Array(Self.timestamp(partialStarted).utf8) + partial + Array("\n".utf8)))
        keep(Line(time: partialStarted, text: Self.text(partial)))
        partial = []
    }

    private func note(_ text: String) {
        let now = Date()
        file.write(Data((Self.timestamp(now) + "-- " + text + "\n").utf8))
    }

    private func keep(_ line: Line) {
        kept.append(line)
        if kept.count > memoryLimit {
            let excess = kept.count - memoryLimit / 2
            kept.removeFirst(excess)
            dropped += excess
        }
        changes.wake(progress)
    }

    private func attachmentChanged() {
        for tap in taps.values { tap.setAttached(port != nil) }
        changes.wake(progress)
    }

    static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    static func text(_ line: [UInt8]) -> String {
        var end = line.endIndex
        while end > line.startIndex, line[end - 1] == UInt8(ascii: "\n") || line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: line[line.startIndex..<end], as: UTF8.self)
    }

    /// "2026-11-29T12:00:00.123Z ", cheap enough for every line at full speed.
    static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let milliseconds = Int((interval - interval.rounded(.down)) * 1000)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z "
    }
}

/// A conversation on a captured port: see `ConsoleCapture.stream()`.
public struct ConsoleStream: ByteStream {
    let capture: ConsoleCapture
    let id: UInt64
    let tap: ConsoleCapture.Tap

    public func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let tap = self.tap
        func take() throws -> [UInt8]? {
            try tap.held.withLockedValue { held in
                guard !held.bytes.isEmpty else {
                    if held.attached { return nil }
                    throw LinkError.disconnected
                }
                let taken = Array(held.bytes.prefix(maximum))
                held.bytes.removeFirst(taken.count)
                return taken
            }
        }
        if let bytes = try take() { return bytes }
        guard try await finished(within: timeout, clock: capture.clock, {
            try await tap.arrivals.wait(until: { $0 }, now: { tap.readable })
        }) != nil else { return [] }
        return try take() ?? []
    }

    public func write(_ bytes: [UInt8]) async throws { try await capture.write(bytes) }

    public func close() async { await capture.release(id) }
}
