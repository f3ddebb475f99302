import Dispatch

/// Reads a fuzz input front to back; past its end it gives nil and empty slices.
struct FuzzReader {
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - position }

    mutating func byte() -> UInt8? {
        guard position < bytes.count else { return nil }
        position += 1
        return bytes[position - 1]
    }

    /// Up to `count` bytes: fewer at the end of the input.
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, position + max(0, count))
        let taken = Array(bytes[position..<end])
        position = end
        return taken
    }

    mutating func rest() -> [UInt8] { take(remaining) }
}

/// `bytes` cut into pieces whose sizes cycle through `sizes`: the same stream, arriving in
/// other pieces. A reader must answer the same whatever the pieces.
func chunks(of bytes: [UInt8], sizes: [Int]) -> [[UInt8]] {
    var pieces: [[UInt8]] = []
    var start = 0
    var next = 0
    while start < bytes.count {
        let end = min(bytes.count, start + max(1, sizes[next % sizes.count]))
        pieces.append(Array(bytes[start..<end]))
        start = end
        next += 1
    }
    return pieces
}

/// The first `count` bytes of a fixed pattern: an image or payload the bench would send.
func pattern(_ count: Int) -> [UInt8] {
    (0..<max(0, count)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
}

/// Runs async work to its end for a synchronous caller (libFuzzer's entry point is one): on a
/// detached task, waited for with a semaphore. The caller must not be a thread of the
/// cooperative pool (the test replays the corpus from a thread of its own).
func runBlocking(_ body: @escaping @Sendable () async -> Void) {
    let done = Completion()
    Task.detached {
        await body()
        done.signal()
    }
    done.wait()
}

private final class Completion: @unchecked Sendable {
    // A semaphore is safe to share between threads; the annotation only says so.
    private let semaphore = DispatchSemaphore(value: 0)

    func signal() { semaphore.signal() }
    func wait() { semaphore.wait() }
}
