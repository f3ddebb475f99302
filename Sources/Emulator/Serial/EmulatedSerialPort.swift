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
    /// YMODEM's receiver asks again after this long without input.
    static let ymodemTimeout = Duration.seconds(3)

    public func serialRead(maximum: Int) throws -> [UInt8] {
        if model.ymodem != nil, stopwatch.elapsed - lastSerialActivity > Self.ymodemTimeout {
            lastSerialActivity = stopwatch.elapsed
            model.serialTimedOut()
        }
        guard model.hasSerialPort else {
            if model.pendingSerialOutput > 0, model.mode != .off { return model.takeSerialOutput(maximum: maximum) }
            throw LinkError.disconnected
        }
        return model.takeSerialOutput(maximum: maximum)
    }

    public func serialWrite(_ bytes: [UInt8]) throws {
        guard model.hasSerialPort else { throw LinkError.disconnected }
        lastSerialActivity = stopwatch.elapsed
        model.serialInput(bytes)
    }
}

extension BoardModel {
    /// Whether the board's USB CDC interface exists: it enumerates with its normal product id.
    public var hasSerialPort: Bool { mode.productID(platform) == platform.usb.normalProductID }
}
