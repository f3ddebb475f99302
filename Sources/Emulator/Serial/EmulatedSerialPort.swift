import Links

/// The board's USB serial port as a `ByteStream`: what a host reads is what the board wrote,
/// what it writes reaches the board's console.
public struct EmulatedSerialPort: ByteStream {
    public let board: EmulatedBoard
    /// How often a read looks for new output while it waits.
    let pollInterval: Duration

    public init(board: EmulatedBoard, pollInterval: Duration = .milliseconds(2)) {
        self.board = board
        self.pollInterval = pollInterval
    }

    public func read(maximum: Int, timeout: Duration) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let bytes = try await board.serialRead(maximum: maximum)
            if !bytes.isEmpty || ContinuousClock.now >= deadline { return bytes }
            try await Task.sleep(for: pollInterval)
        }
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await board.serialWrite(bytes)
    }

    public func close() async {}
}

extension EmulatedBoard {
    /// YMODEM's receiver asks again after this long without input.
    static let ymodemTimeout = Duration.seconds(3)

    func serialRead(maximum: Int) throws -> [UInt8] {
        if model.ymodem != nil, elapsed() - lastSerialActivity > Self.ymodemTimeout {
            lastSerialActivity = elapsed()
            model.serialTimedOut()
        }
        guard model.mode.productID(model.platform) == model.platform.usb.normalProductID else {
            if model.pendingSerialOutput > 0, model.mode != .off { return model.takeSerialOutput(maximum: maximum) }
            throw LinkError.disconnected
        }
        return model.takeSerialOutput(maximum: maximum)
    }

    func serialWrite(_ bytes: [UInt8]) throws {
        guard model.mode.productID(model.platform) == model.platform.usb.normalProductID else { throw LinkError.disconnected }
        lastSerialActivity = elapsed()
        model.serialInput(bytes)
    }
}
