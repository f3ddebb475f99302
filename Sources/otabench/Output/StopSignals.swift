import Dispatch
import Foundation
import Synchronization

/// SIGINT and SIGTERM, for commands that serve until stopped (`emulate`, `console`) and for
/// runs that must record an interruption rather than die with their reports unwritten.
final class StopSignals: Sendable {
    private struct State {
        var received: [Int32] = []
        var waiters: [(id: Int, continuation: CheckedContinuation<Int32?, Never>)] = []
        var nextID = 0
        /// Waits cancelled before they were registered.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())
    /// Unchecked: the sources are made once here and Dispatch sources are thread-safe.
    private nonisolated(unsafe) var sources: [any DispatchSourceSignal] = []

    private static let shared = StopSignals()

    private init() {
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            source.setEventHandler { [self] in deliver(signalNumber) }
            source.resume()
            return source
        }
    }

    private func deliver(_ signalNumber: Int32) {
        let waiter = state.withLock { state -> CheckedContinuation<Int32?, Never>? in
            if state.waiters.isEmpty {
                state.received.append(signalNumber)
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: signalNumber)
    }

    /// Catches the signals from now on. Call it before the command says it is ready, or an
    /// early Ctrl-C would kill it with nothing cleaned up.
    static func watch() { _ = shared }

    /// Returns at the next SIGINT or SIGTERM (one caught since `watch()` and not yet taken,
    /// or the next to come), with its number; nil at once when the waiting task is cancelled,
    /// so a server told to stop for another reason does not wait for a signal.
    @discardableResult
    static func next() async -> Int32? {
        let id = shared.state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
                let ready = shared.state.withLock { state -> Int32?? in
                    if state.cancelled.remove(id) != nil { return .some(nil) }
                    if !state.received.isEmpty { return state.received.removeFirst() }
                    state.waiters.append((id, continuation))
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = shared.state.withLock { state -> CheckedContinuation<Int32?, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Returns at the first SIGINT or SIGTERM, or when the waiting task is cancelled.
    static func wait() async { await next() }

    static func name(_ signalNumber: Int32) -> String {
        switch signalNumber {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signalNumber)"
        }
    }
}
