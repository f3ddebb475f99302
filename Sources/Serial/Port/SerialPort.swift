import CSerialPort
import Foundation
import Glibc
import Links
import NIOConcurrencyHelpers

/// A serial line through termios: a board's USB CDC tty (/dev/ttyACM0) or a pseudo-terminal,
/// in raw mode, as a `ByteStream`.
///
/// A thread of the port's own drains the line into memory as soon as bytes arrive, so a
/// board printing at full speed loses nothing while the reader is busy elsewhere, and no
/// blocking call ever runs on the cooperative pool. `close()` returns at once: the thread
/// discards unsent output (a tty's close otherwise waits up to 30 s for it to drain) and
/// closes the descriptor itself.
public final class SerialPort: ByteStream {
    public let path: String
    private let descriptor: Int32
    private let state = NIOLockedValueBox(State())
    /// Past this many unread bytes the thread stops reading, so the kernel holds the sender back.
    private let bufferLimit: Int

    private struct State {
        var buffer: [UInt8] = []
        var head = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var ended: LinkError?
        var closing = false
        var writersInside = 0

        var unread: Int { buffer.count - head }

        mutating func take(_ maximum: Int) -> [UInt8] {
            let count = min(maximum, unread)
            let bytes = Array(buffer[head..<head + count])
            head += count
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1 << 16, head > buffer.count / 2 {
                buffer.removeFirst(head)
                head = 0
            }
            return bytes
        }

        mutating func wakeAll() -> [CheckedContinuation<Void, Never>] {
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
    }

    /// Opens the tty at `path` in raw 8N1 mode at `bitRate`.
    public static func open(_ path: String, bitRate: Int = 9600, bufferLimit: Int = 16 << 20) throws(SerialPortError) -> SerialPort {
        let descriptor = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system(path, "open") }
        guard isatty(descriptor) == 1 else {
            Glibc.close(descriptor)
            throw SerialPortError(path: path, operation: "open", reason: "not a terminal device")
        }
        guard otabench_serial_configure_raw(descriptor, UInt32(bitRate)) == 0 else {
            let error = SerialPortError.system(path, "set raw mode at \(bitRate) baud")
            Glibc.close(descriptor)
            throw error
        }
        return SerialPort(adopting: descriptor, path: path, bufferLimit: bufferLimit)
    }

    /// Takes over an open descriptor (a pseudo-terminal's master side, say); the port closes it.
    public init(adopting descriptor: Int32, path: String, bufferLimit: Int = 16 << 20) {
        self.descriptor = descriptor
        self.path = path
        self.bufferLimit = bufferLimit
        let thread = Thread { [self] in drain() }
        thread.name = "serial \(path)"
        thread.start()
    }

    // MARK: Line settings

    /// The line's bit rate. On a real board 14400 is a request to enter DFU mode (§7).
    public func setBitRate(_ rate: Int) throws(SerialPortError) {
        guard otabench_serial_configure_raw(descriptor, UInt32(rate)) == 0 else { throw .system(path, "set \(rate) baud") }
    }

    public func bitRate() throws(SerialPortError) -> Int {
        let rate = otabench_serial_bit_rate(descriptor)
        guard rate >= 0 else { throw .system(path, "read the bit rate") }
        return rate
    }

    /// Raises or drops DTR and RTS (nil leaves a line alone). A pseudo-terminal has no modem
    /// lines and says so.
    public func setModemLines(dtr: Bool? = nil, rts: Bool? = nil) throws(SerialPortError) {
        func level(_ value: Bool?) -> Int32 { value.map { $0 ? 1 : 0 } ?? -1 }
        guard otabench_serial_set_modem_lines(descriptor, level(dtr), level(rts)) == 0 else {
            let code = errno
            if code == ENOTTY || code == EINVAL {
                throw SerialPortError(path: path, operation: "set DTR/RTS", reason: "the line has no modem control lines")
            }
            throw .system(path, "set DTR/RTS", errno: code)
        }
    }

    // MARK: ByteStream

    public func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (bytes, ended) = state.withLockedValue { ($0.take(maximum), $0.ended) }
            if !bytes.isEmpty { return bytes }
            if let ended { throw ended }
            if ContinuousClock.now >= deadline || Task.isCancelled { return [] }
            await waitForInput(until: deadline)
        }
    }

    public func write(_ bytes: [UInt8]) async throws {
        try enterWriter()
        defer { state.withLockedValue { $0.writersInside -= 1 } }
        var offset = 0
        var stalledSince: ContinuousClock.Instant?
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written > 0 {
                offset += written
                stalledSince = nil
                continue
            }
            let code = errno
            guard written < 0, code == EAGAIN || code == EINTR else { throw LinkError.disconnected }
            // The other end is not reading: wait for it, but not for ever.
            let since = stalledSince ?? .now
            stalledSince = since
            if ContinuousClock.now - since > Self.writeStallLimit { throw LinkError.timedOut }
            if state.withLockedValue({ $0.closing || $0.ended != nil }) { throw LinkError.disconnected }
            try await Task.sleep(for: .microseconds(200))
        }
    }

    /// Writes what the line takes now, without waiting; returns how many bytes that was.
    public func writeAvailable(_ bytes: [UInt8]) throws -> Int {
        try enterWriter()
        defer { state.withLockedValue { $0.writersInside -= 1 } }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress!, $0.count) }
        if written >= 0 { return written }
        let code = errno
        guard code == EAGAIN || code == EINTR else { throw LinkError.disconnected }
        return 0
    }

    /// How long a write waits for a peer that stopped reading.
    static let writeStallLimit = Duration.seconds(5)

    public func close() async { closeNow() }

    /// `close()` for callers outside async code.
    public func closeNow() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.closing = true
            if state.ended == nil { state.ended = .disconnected }
            return state.wakeAll()
        }
        waiters.forEach { $0.resume() }
    }

    // MARK: Internals

    private func enterWriter() throws {
        try state.withLockedValue { state in
            if state.closing || state.ended != nil { throw LinkError.disconnected }
            state.writersInside += 1
        }
    }

    private func waitForInput(until deadline: ContinuousClock.Instant) async {
        let id = state.withLockedValue { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            self?.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLockedValue { state -> Bool in
                    if state.unread > 0 || state.ended != nil || ContinuousClock.now >= deadline { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            wake(id)
        }
        timer.cancel()
    }

    private func wake(_ id: UInt64) {
        state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
    }

    /// The port's thread: reads whatever arrives until the line ends or the port closes.
    private func drain() {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while !state.withLockedValue({ $0.closing }) {
            if state.withLockedValue({ $0.unread }) >= bufferLimit {
                usleep(1_000)
                continue
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 50)
            if ready < 0 {
                if errno == EINTR { continue }
                end(); break
            }
            if ready == 0 { continue }
            if poller.revents & Int16(POLLIN) != 0 {
                let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, $0.count) }
                if count > 0 {
                    let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                        state.buffer.append(contentsOf: chunk[0..<count])
                        return state.wakeAll()
                    }
                    waiters.forEach { $0.resume() }
                    continue
                }
                if count < 0, errno == EAGAIN || errno == EINTR { continue }
                end(); break
            }
            // POLLHUP, POLLERR or POLLNVAL with nothing left to read: the board is gone.
            end(); break
        }
        // Writers may still be inside a write(2) on this descriptor: let them leave first.
        while state.withLockedValue({ $0.writersInside > 0 }) { usleep(200) }
        tcflush(descriptor, TCIOFLUSH)
        Glibc.close(descriptor)
    }

    private func end() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            if state.ended == nil { state.ended = .disconnected }
            return state.wakeAll()
        }
        waiters.forEach { $0.resume() }
    }
}
