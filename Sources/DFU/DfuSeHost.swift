import Firmware
import Links

/// A DfuSe host over any `ControlPipe` (§2): erase only the pages an image covers, set the
/// address pointer once per contiguous run and let wBlockNum advance, poll GETSTATUS
/// honouring bwPollTimeout, recover from dfuERROR, and leave.
public struct DfuSeHost: Sendable {
    public let pipe: any ControlPipe
    public var transferSize: Int
    public var requestTimeout: Duration
    /// Waits between GETSTATUS polls; the device's bwPollTimeout is honoured through it.
    public var sleep: @Sendable (Duration) async throws -> Void

    public struct Status: Hashable, Sendable {
        public var status: DFUStatus
        public var pollTimeout: Duration
        public var state: DFUState
    }

    /// What a download did, for measurements.
    public struct Progress: Sendable {
        public var bytesWritten: Int
        public var totalBytes: Int
    }

    public init(pipe: any ControlPipe, transferSize: Int = 4096, requestTimeout: Duration = .seconds(5),
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.pipe = pipe
        self.transferSize = transferSize
        self.requestTimeout = requestTimeout
        self.sleep = sleep
    }

    // MARK: Class requests (§2.2)

    public func getStatus() async throws -> Status {
        let reply = try await pipe.controlIn(setup(0xA1, 3, length: 6), timeout: requestTimeout)
        guard reply.count == 6 else { throw DfuSeError.badReply("GETSTATUS returned \(reply.count) bytes") }
        guard let status = DFUStatus(rawValue: reply[0]), let state = DFUState(rawValue: reply[4]) else {
            throw DfuSeError.badReply("GETSTATUS status \(reply[0]), state \(reply[4])")
        }
        let milliseconds = Int(reply[1]) | Int(reply[2]) << 8 | Int(reply[3]) << 16
        return Status(status: status, pollTimeout: .milliseconds(milliseconds), state: state)
    }

    public func clearStatus() async throws {
        try await pipe.controlOut(setup(0x21, 4), data: [], timeout: requestTimeout)
    }

    public func abort() async throws {
        try await pipe.controlOut(setup(0x21, 6), data: [], timeout: requestTimeout)
    }

    /// Brings the device to dfuIDLE from wherever it is (dfuERROR → CLRSTATUS, else ABORT).
    public func makeIdle() async throws {
        let status = try await getStatus()
        switch status.state {
        case .dfuIdle: return
        case .error: try await clearStatus()
        default: try await abort()
        }
        let after = try await getStatus()
        guard after.state == .dfuIdle else { throw DfuSeError.unexpectedState(operation: "recovering to dfuIDLE", state: after.state) }
    }

    // MARK: DfuSe

    /// Sends a download and polls until the operation is done; throws what the device reports.
    func download(block: UInt16, _ data: [UInt8], operation: String) async throws {
        try await pipe.controlOut(setup(0x21, 1, value: block, length: UInt16(data.count)), data: data, timeout: requestTimeout)
        var status = try await getStatus()
        var polls = 0
        while status.state == .downloadBusy || status.state == .downloadSync {
            if status.pollTimeout > .zero { try await sleep(status.pollTimeout) }
            status = try await getStatus()
            polls += 1
            if polls > 10_000 { throw DfuSeError.timedOut(operation) }
        }
        guard status.status == .ok, status.state == .downloadIdle || status.state == .dfuIdle else {
            throw DfuSeError.deviceError(operation: operation, status: status.status, state: status.state)
        }
    }

    static func command(_ byte: UInt8, _ address: UInt32) -> [UInt8] {
        [byte, UInt8(address & 0xFF), UInt8(address >> 8 & 0xFF), UInt8(address >> 16 & 0xFF), UInt8(address >> 24)]
    }

    public func setAddress(_ address: UInt32) async throws {
        try await download(block: 0, Self.command(0x21, address), operation: "set address 0x\(String(address, radix: 16))")
    }

    public func erasePage(_ address: UInt32) async throws {
        try await download(block: 0, Self.command(0x41, address), operation: "erase at 0x\(String(address, radix: 16))")
    }

    /// Writes `image` at `address`: erases the sectors it covers (per `layout`), then sends it
    /// in `transferSize` blocks after one SET_ADDRESS_POINTER.
    public func write(_ image: [UInt8], at address: UInt32, layout: DfuSeMemoryLayout,
                      progress: (@Sendable (Progress) async -> Void)? = nil) async throws {
        try await makeIdle()
        var cursor = address
        let end = UInt64(address) + UInt64(image.count)
        while UInt64(cursor) < end {
            guard let sector = layout.sector(containing: cursor) else { throw DfuSeError.addressOutsideMemory(cursor) }
            try await erasePage(sector.start)
            cursor = sector.start + UInt32(sector.size)
        }
        try await setAddress(address)
        var block: UInt16 = 2
        var offset = 0
        while offset < image.count {
            let chunk = Array(image[offset..<min(offset + transferSize, image.count)])
            try await download(block: block, chunk, operation: "write block \(block)")
            offset += chunk.count
            block &+= 1
            // Awaited before the next block goes: a caller can act at an exact offset.
            await progress?(Progress(bytesWritten: offset, totalBytes: image.count))
        }
    }

    /// Reads `count` bytes from `address` by UPLOAD.
    public func read(_ address: UInt32, count: Int) async throws -> [UInt8] {
        try await makeIdle()
        try await setAddress(address)
        try await abort()
        var result: [UInt8] = []
        var block: UInt16 = 2
        while result.count < count {
            let length = min(transferSize, count - result.count)
            result += try await pipe.controlIn(setup(0xA1, 2, value: block, length: UInt16(length)), timeout: requestTimeout)
            block &+= 1
        }
        try await abort()
        return result
    }

    /// The zero-length download that makes the device manifest and reset. Gen 3 answers
    /// dfuMANIFEST, Gen 2 dfuDNLOAD_IDLE (§2.7); both reset about 500 ms later.
    public func leave() async throws {
        try await pipe.controlOut(setup(0x21, 1, value: 2, length: 0), data: [], timeout: requestTimeout)
        let status = try await getStatus()
        guard status.state == .manifest || status.state == .downloadIdle || status.state == .manifestWaitReset else {
            throw DfuSeError.unexpectedState(operation: "leave", state: status.state)
        }
    }

    private func setup(_ type: UInt8, _ request: UInt8, value: UInt16 = 0, length: UInt16 = 0) -> ControlSetup {
        ControlSetup(requestType: type, request: request, value: value, index: 0, length: length)
    }
}
