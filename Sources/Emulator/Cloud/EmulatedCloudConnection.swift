import CloudOTA
import NIOConcurrencyHelpers

/// An emulated board's network connection to its cloud: while the board runs Device OS it holds
/// a session (TLS, its own certificate), connects again after every reset, and stays away
/// while it is off. The board's application calls `disableUpdates()`/`enableUpdates()` here,
/// so the cloud hears of it as Device OS tells it.
public final class EmulatedCloudConnection: Sendable {
    public let board: BoardEmulator
    public let client: DeviceCloudClient
    /// How long to wait before connecting again after a failed attempt.
    public let retryDelay: Duration

    private struct State {
        var outbox: AsyncStream<(name: String, data: String)>.Continuation?
        var sessions = 0
        var ends: [DeviceSessionEnd] = []
        var lastError: DeviceChannelError?
    }

    private let state = NIOLockedValueBox(State())

    public init(board: BoardEmulator, client: DeviceCloudClient, retryDelay: Duration = .milliseconds(500)) {
        self.board = board
        self.client = client
        self.retryDelay = retryDelay
    }

    /// Sessions begun (each connect with a hello).
    public var sessionCount: Int { state.withLockedValue { $0.sessions } }
    public var sessionEnds: [DeviceSessionEnd] { state.withLockedValue { $0.ends } }
    /// Why the last attempt failed, if it did (an untrusted cloud, an unreachable one).
    public var lastError: DeviceChannelError? { state.withLockedValue { $0.lastError } }
    public var isConnected: Bool { state.withLockedValue { $0.outbox != nil } }

    /// Keeps the board connected until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            // Off, in DFU, bricked: the connection waits for Device OS to run again (woken by
            // the board's change, or ended by cancellation).
            guard (try? await board.waitUntil({ $0.runsDeviceOS })) != nil else { break }
            let (outbox, input) = AsyncStream.makeStream(of: (name: String, data: String).self)
            state.withLockedValue { state in
                state.outbox = input
                state.sessions += 1
            }
            do {
                let end = try await client.session(device: EmulatedCloudSession(board: board), outbox: outbox)
                await board.update { $0.cloudConnected = false }
                state.withLockedValue { state in
                    state.outbox = nil
                    state.ends.append(end)
                    state.lastError = nil
                }
            } catch {
                await board.update { $0.cloudConnected = false }
                state.withLockedValue { state in
                    state.outbox = nil
                    state.lastError = error as? DeviceChannelError ?? .unreachable("\(error)")
                }
                try? await Task.sleep(for: retryDelay)
            }
        }
        state.withLockedValue { $0.outbox?.finish() }
    }

    /// `System.disableUpdates()`: the flag changes and `particle/device/updates/enabled` "false"
    /// goes to the cloud.
    public func disableUpdates() async {
        await board.update { $0.disableUpdates() }
        publish("particle/device/updates/enabled", "false")
    }

    public func enableUpdates() async {
        await board.update { $0.enableUpdates() }
        publish("particle/device/updates/enabled", "true")
    }

    /// The network drops: the session ends and the board connects again.
    public func dropConnection() {
        state.withLockedValue { $0.outbox?.finish() }
    }

    /// `Particle.publish(name, data)` from the board's application: on the cloud's event
    /// streams while connected, dropped otherwise (as Device OS drops an unsent publish).
    public func publish(_ name: String, _ data: String) {
        _ = state.withLockedValue { $0.outbox }?.yield((name, data))
    }
}

extension BoardEmulator {
    public var runsDeviceOS: Bool { model.runsDeviceOS }
}
