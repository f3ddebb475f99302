import Dispatch
import Foundation

/// SIGINT and SIGTERM for commands that serve until stopped (`emulate`, `console`).
/// Unchecked: the sources are set once here and Dispatch sources are thread-safe.
final class StopSignals: @unchecked Sendable {
    private let signals: AsyncStream<Void>
    private let sources: [any DispatchSourceSignal]

    private static let shared = StopSignals()

    private init() {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        signals = stream
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            source.setEventHandler { continuation.yield() }
            source.resume()
            return source
        }
    }

    /// Catches the signals from now on. Call it before the command says it is ready, or an
    /// early Ctrl-C would kill it with nothing cleaned up.
    static func watch() { _ = shared }

    /// Returns at the first SIGINT or SIGTERM.
    static func wait() async {
        for await _ in shared.signals { break }
        shared.sources.forEach { $0.cancel() }
    }
}
