import Links

/// The board's USB serial port as a `ByteStream`: what a host reads is what the board wrote,
/// what it writes reaches the board's console.
public struct EmulatedSerialPort: ByteStream {
    public let board: BoardEmulator
    /// What the host's read timeouts are measured on.
    let clock: any Clock<Duration>

    public init(board: BoardEmulator, clock: any Clock<Duration> = ContinuousClock()) {
        self.board = board
        self.clock = clock
    }

    public func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let bytes = try await board.serialRead(maximum: maximum)
        guard bytes.isEmpty else { return bytes }
        let board = self.board
        // Woken by the board's output, or by its port going away (a read then says so).
        guard try await finished(within: timeout, clock: clock, {
            try await board.waitUntil { $0.pendingSerialOutput > 0 || !$0.hasSerialPort }
        }) != nil else { return [] }
        return try await board.serialRead(maximum: maximum)
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await board.serialWrite(bytes)
    }

    public func close() async {}
}

extension BoardEmulator {
    /// What the board wrote, after its serial timers ran up to now on its clock (the YMODEM
    /// receiver's 5 s `C`). `forBoot`: only what belongs to that boot's USB line (see
    /// `BoardModel.takeSerialOutput(maximum:forBoot:)`); nil, everything.
    public func serialRead(maximum: Int, forBoot boot: Int? = nil) throws -> [UInt8] {
        model.serialTick(at: stopwatch.elapsed)
        guard model.hasSerialPort else {
            if model.pendingSerialOutput > 0, model.mode != .off { return model.takeSerialOutput(maximum: maximum) }
            throw LinkError.disconnected
        }
        guard let boot else { return model.takeSerialOutput(maximum: maximum) }
        return model.takeSerialOutput(maximum: maximum, forBoot: boot)
    }

    /// What the board wrote before its last reset and no host has read: the old line's last
    /// words, whatever the board does now.
    public func serialOutputBeforeReset() -> [UInt8] {
        model.takeSerialOutput(maximum: model.unreadBeforeReset)
    }

    public func serialWrite(_ bytes: [UInt8]) throws {
        guard model.hasSerialPort else { throw LinkError.disconnected }
        model.serialInput(bytes, at: stopwatch.elapsed)
    }
}

extension BoardModel {
    /// Whether the board's USB CDC interface exists: it enumerates with its normal product id.
    public var hasSerialPort: Bool { mode.productID(platform) == platform.usb.normalProductID }
}
