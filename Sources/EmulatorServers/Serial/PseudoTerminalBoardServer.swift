import Emulator
import Firmware
import Foundation
import Links
import Serial
import NIOConcurrencyHelpers

/// Gives an emulated board a USB serial port of its own: a pseudo-terminal that screen,
/// picocom, lrzsz or otabench open like /dev/ttyACM0, carrying its console and listening mode.
///
/// The port lives exactly as long as the board's CDC interface would: while the board runs
/// Device OS. When the board resets, enters DFU or loses power, the line hangs up (a host
/// reading it sees the device leave), and a new pseudo-terminal appears when the board is
/// back — with another /dev/pts number, as a real tty may come back with another name. A
/// symbolic link per board, named by its device id, follows it, as udev's
/// /dev/serial/by-id links do. A host that sets the line to 14400 baud sends the board into
/// DFU mode; 28800 puts a board running Device OS before 6.0.0 into listening mode (§7).
public final class PseudoTerminalBoardServer: Sendable {
    public let board: BoardEmulator
    public let deviceID: String
    /// The link that follows the board's current pseudo-terminal.
    public let link: URL
    private let task: Task<Void, Never>
    private let port: CurrentPort
    /// What the limit on `waitForPort` and the old line's wait for a host to read the board's
    /// last words are measured on.
    private let clock: any Clock<Duration>

    /// The board's pseudo-terminal, while it has one, and who waits for it.
    final class CurrentPort: Sendable {
        /// The line's path, and the boot of the board it was opened for.
        struct Line: Sendable {
            var path: String?
            var boot = -1
        }
        let line = NIOLockedValueBox(Line())
        let waiters = StateWaiters<Line>()

        var path: String? { line.withLockedValue { $0.path } }

        func set(_ path: String?, boot: Int) {
            let new = Line(path: path, boot: boot)
            line.withLockedValue { $0 = new }
            waiters.wake(new)
        }
    }

    /// Starts serving. `linkDirectory` receives `<deviceID>` and, when given, `<alias>`.
    public init(board: BoardEmulator, linkDirectory: URL, alias: String? = nil, clock: any Clock<Duration> = ContinuousClock()) async throws {
        self.board = board
        self.deviceID = await board.model.deviceID
        try FileManager.default.createDirectory(at: linkDirectory, withIntermediateDirectories: true)
        let links = [linkDirectory.appendingPathComponent(deviceID)] + (alias.map { [linkDirectory.appendingPathComponent($0)] } ?? [])
        // The links are ours to replace and remove; anything else at those names is someone's file.
        for link in links where Self.occupied(link) {
            throw PseudoTerminalLinkError.occupied(link.path)
        }
        self.link = links[0]
        self.clock = clock
        let port = CurrentPort()
        self.port = port
        task = Task { await Self.serve(board, links: links, port: port, clock: clock) }
    }

    /// The pseudo-terminal's current path, while the board has one.
    public var path: String? { port.path }

    /// Waits until the board has a port; returns its path. With `boot` (the board's boot count),
    /// a port opened for that boot or a later one: after a reset this server may not have seen
    /// yet, the old line is still up, and what is written to it is lost when it goes. The limit
    /// stops a board that never gets one, far beyond what a loaded machine makes of the wait.
    public func waitForPort(boot: Int? = nil, timeout: Duration = .seconds(30)) async throws -> String {
        let port = self.port
        let wanted = boot ?? Int.min
        let usable: @Sendable (CurrentPort.Line) -> String? = { $0.boot >= wanted ? $0.path : nil }
        guard let path = try await finished(within: timeout, clock: clock, { () async throws -> String in
            while true {
                try await port.waiters.wait(until: { usable($0) != nil }, now: { port.line.withLockedValue { $0 } })
                // A reset may have taken it again before this task ran on: wait once more, within
                // the same limit. Later losses are the caller's next step to find, as on a real tty.
                if let path = usable(port.line.withLockedValue { $0 }) { return path }
            }
        }) else { throw LinkError.timedOut }
        return path
    }

    public func stop() async {
        task.cancel()
        await task.value
    }

    private static func serve(_ board: BoardEmulator, links: [URL], port: CurrentPort, clock: any Clock<Duration>) async {
        var terminal: PseudoTerminal?
        var hostRate = 0
        // A reset re-enumerates the board even when it is back in the same mode at once.
        var boot = -1
        // A board printing while no host reads keeps what does not fit, up to its own limit.
        var unsent: [UInt8] = []
        func hangUp() {
            // Links first: a host that sees the line drop must not find the old one again.
            for link in links { removeLink(link) }
            port.set(nil, boot: boot)
            terminal?.hangUp()
            terminal = nil
            unsent = []
        }
        defer { hangUp() }
        while !Task.isCancelled {
            let (present, currentBoot) = await board.serialPortState
            if currentBoot != boot, let old = terminal {
                // What the board printed before it reset ("Restarting system to apply firmware
                // update...", a verdict) reaches a host that is reading before the line goes:
                // the board flushes it first. What the next boot prints goes to the next line.
                unsent += await board.serialOutputBeforeReset()
                if let written = try? old.master.writeAvailable(unsent) { unsent.removeFirst(written) }
                await waitForLastWords(on: clock) {
                    if !unsent.isEmpty, let written = try? old.master.writeAvailable(unsent) { unsent.removeFirst(written) }
                    return old.unreadByHost() + unsent.count
                }
                hangUp()
            }
            boot = currentBoot
            guard present else {
                if terminal != nil { hangUp() }
                // Until the board has its port again, or has reset meanwhile: woken by the change.
                let away = currentBoot
                try? await board.waitUntil { $0.hasSerialPort || $0.bootCount != away }
                continue
            }
            guard let current = terminal ?? open(links) else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            if terminal == nil {
                terminal = current
                hostRate = current.hostBitRate() ?? 0
                port.set(current.slavePath, boot: boot)
            }
            do {
                // Host → board, then at once what the board answered.
                let input = try await current.master.read(maximum: 1 << 16, timeout: unsent.isEmpty ? .milliseconds(10) : .milliseconds(1))
                if !input.isEmpty { try await board.serialWrite(input) }
                if let rate = current.hostBitRate(), rate != hostRate {
                    hostRate = rate
                    if rate == 14400 {
                        // system_lineCodingBitRateHandler: System.dfu().
                        await board.update { $0.enterDFUMode() }
                        continue
                    }
                    if rate == 28800 {
                        // The YMODEM flasher speed: listening mode, on every platform before
                        // Device OS 6.0.0, which dropped it (v6.0.0 build/module-defaults.mk).
                        await board.update { if $0.deviceOS.listensAt28800Baud { $0.enterListeningMode() } }
                    }
                }
                unsent += try await board.serialRead(maximum: 1 << 16, forBoot: boot)
                if unsent.count > Self.unsentLimit { unsent.removeFirst(unsent.count - Self.unsentLimit) }
                if !unsent.isEmpty {
                    let written = try current.master.writeAvailable(unsent)
                    unsent.removeFirst(written)
                }
            } catch {
                // The board left USB between two looks, or the line failed: start afresh.
                hangUp()
            }
        }
    }

    /// A host that is reading gets all of the board's last words, however busy the machine: the
    /// old line stays while what the host has not read (`unread`, which also writes what is
    /// left) goes down, and goes after `lastWordsPatience` without progress (no host reading),
    /// or `lastWordsLimit` in all.
    static func waitForLastWords<C: Clock<Duration>>(on clock: C, unread: () -> Int) async {
        let start = clock.now
        var progressAt = start
        var left = unread()
        while left > 0, progressAt.duration(to: clock.now) < lastWordsPatience, start.duration(to: clock.now) < lastWordsLimit {
            do { try await clock.sleep(for: .milliseconds(2)) } catch { return }
            let now = unread()
            if now < left { progressAt = clock.now }
            left = now
        }
    }

    /// What the board holds for a host that does not read, as its own output buffer does.
    static let unsentLimit = 1 << 20
    /// How long the old line waits for a host to read more of the board's last words before a
    /// reset takes it away, and how long at most.
    static let lastWordsPatience = Duration.seconds(2)
    static let lastWordsLimit = Duration.seconds(10)

    private static func open(_ links: [URL]) -> PseudoTerminal? {
        guard let terminal = try? PseudoTerminal() else { return nil }
        for link in links {
            removeLink(link)
            try? FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: terminal.slavePath)
        }
        return terminal
    }
}

/// Removes a symbolic link, and nothing else: never a file or a folder put there meanwhile.
private func removeLink(_ link: URL) {
    var info = stat()
    guard lstat(link.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return }
    unlink(link.path)
}

extension PseudoTerminalBoardServer {
    /// Whether something other than a symbolic link has the name.
    static func occupied(_ link: URL) -> Bool {
        var info = stat()
        return lstat(link.path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFLNK
    }
}

public enum PseudoTerminalLinkError: Error, CustomStringConvertible {
    case occupied(String)

    public var description: String {
        switch self {
        case .occupied(let path): "\(path) exists and is not a link; not replacing it (give another link folder)"
        }
    }
}

extension BoardEmulator {
    /// Whether the board's USB CDC interface exists (it enumerates with its normal product id),
    /// and the boot it belongs to.
    var serialPortState: (present: Bool, boot: Int) {
        (model.hasSerialPort, model.bootCount)
    }
}
