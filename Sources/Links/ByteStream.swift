/// A serial byte stream: a USB CDC tty, a pseudo-terminal, or an emulated board's console.
public protocol ByteStream: Sendable {
    /// Returns the bytes available, waiting at most `timeout` for the first one; empty on timeout.
    func read(maximum: Int, timeout: Duration) async throws -> [UInt8]
    func write(_ bytes: [UInt8]) async throws
    /// Never blocks, whatever the other end does.
    func close() async
}
