import Firmware
import Links

/// One emulated board behind an actor: what a bench drives. Its USB face is a
/// `ControlPipe`; which requests it answers depends on the mode, and a mode change shows as
/// the board leaving USB and coming back with the other product id.
public actor BoardEmulator: ControlPipe {
    public internal(set) var model: BoardModel {
        didSet {
            changes.wake(model)
            armSerialTimer()
        }
    }
    private let clock: any Clock<Duration>
    private let changes = StateWaiters<BoardModel>()

    /// Time on the board's clock since it was made: what its own timers (the YMODEM receiver's,
    /// the console's delays) measure, so a bench on an instant clock never sees them fire
    /// because the host was slow.
    let stopwatch: Stopwatch
    /// The console delay a wake-up is already waiting for.
    private var armedSerialDeadline: Duration?

    public init(_ model: BoardModel, clock: any Clock<Duration> = ContinuousClock()) {
        self.model = model
        self.clock = clock
        self.stopwatch = Stopwatch(clock)
    }

    public init(platform: Platform, defects: Set<Defect> = []) throws {
        self.init(try BoardModel.provisioned(platform: platform, defects: defects))
    }

    /// Runs `body` on the board's state: scenarios and tests change it here.
    public func update<Result: Sendable>(_ body: (inout BoardModel) throws -> Result) rethrows -> Result {
        try body(&model)
    }

    /// A copy of the whole board.
    public func snapshot() -> BoardModel { model }

    public func restore(_ snapshot: BoardModel) { model = snapshot }

    public var mode: EmulatedMode { model.mode }

    /// Returns once `condition` holds for the board's state: at once if it holds now, else
    /// at the change that makes it hold. What drives the board waits on the board, not on a
    /// clock: a busy machine makes the wait longer, never wrong. Throws CancellationError when
    /// the waiting task is cancelled (a caller's time limit).
    public func waitUntil(_ condition: @escaping @Sendable (BoardModel) -> Bool) async throws {
        try await changes.wait(until: condition, now: { model })
    }

    /// The product id the board currently enumerates with; nil while it is off USB.
    public var usbProductID: UInt16? { model.mode.productID(model.platform) }

    // MARK: ControlPipe

    public func controlIn(_ setup: ControlSetup, timeout: Duration) async throws -> [UInt8] {
        try reply(to: setup, data: [])
    }

    public func controlOut(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws {
        _ = try reply(to: setup, data: data)
    }

    /// SET_INTERFACE on the DFU interface.
    public func selectAlternateSetting(_ alt: UInt8) throws {
        guard model.mode == .dfu else { throw LinkError.disconnected }
        guard model.dfuSelectAlternateSetting(alt) else { throw LinkError.stalled }
    }

    private func reply(to setup: ControlSetup, data: [UInt8]) throws -> [UInt8] {
        guard let answer = model.usbControl(setup, data: data) else { throw LinkError.disconnected }
        if model.mode == .dfu, model.dfu.resetScheduled { scheduleLeave() }
        guard case .data(let bytes) = answer else { throw LinkError.stalled }
        return bytes
    }

    /// The bootloader resets about 500 ms after delivering the manifest status (§2.6).
    private func scheduleLeave() {
        let clock = self.clock
        Task {
            try? await clock.sleep(for: .milliseconds(500))
            self.completeLeave()
        }
    }

    private func completeLeave() {
        model.dfuCompleteLeave()
    }

    /// A console delay ("Downloaded file successfully!" and 1000 ms, then "Restarting…") ends
    /// on the board's clock whether or not a host reads: a sleep on that clock wakes the board.
    private func armSerialTimer() {
        guard let due = model.nextSerialDeadline, due != armedSerialDeadline else { return }
        armedSerialDeadline = due
        let clock = self.clock
        let wait = due - stopwatch.elapsed
        Task { [weak self] in
            if wait > .zero { try? await clock.sleep(for: wait) }
            await self?.serialTimerFired(due)
        }
    }

    private func serialTimerFired(_ due: Duration) {
        if armedSerialDeadline == due { armedSerialDeadline = nil }
        model.serialTick(at: stopwatch.elapsed)
    }
}
