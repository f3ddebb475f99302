import Firmware

/// Everything on a board that survives a power cut: internal flash, external flash where
/// the platform has it, and the DCT. Every erase, program and DCT write goes through here,
/// so that each is logged, timed on the virtual clock, and open to fault injection.
public struct BoardStorage: Sendable {
    /// What persists; a copy of it is a snapshot.
    public struct Contents: Sendable {
        public var internalFlash: FlashMemory
        public var externalFlash: FlashMemory?
        public var dct: DeviceConfiguration
    }

    /// The persistent state just before an operation, and the operation: a power cut at
    /// that operation leaves exactly this state (plus, when torn, part of the operation).
    public struct Checkpoint: Sendable {
        public var contents: Contents
        public var operation: FlashOperation
        /// The bytes a program would have written (for torn replays).
        public var data: [UInt8]
    }

    public var contents: Contents
    public let internalTiming: FlashTiming
    public let externalTiming: FlashTiming
    public var phase: UpdatePhase = .external
    public var faults: FaultPlan = .none
    public private(set) var log: [FlashOperation] = []
    public private(set) var operationCount = 0
    /// Modelled time spent in flash operations.
    public private(set) var elapsed: Duration = .zero
    /// When true, every operation first records a checkpoint (for power-cut sweeps).
    public var recordsCheckpoints = false
    public private(set) var checkpoints: [Checkpoint] = []
    /// Keep the log from growing without bound on long emulated runs.
    public var logLimit = 100_000

    public init(platform: Platform) {
        contents = Contents(
            internalFlash: FlashMemory(region: platform.internalFlash),
            externalFlash: platform.externalFlash.map(FlashMemory.init(region:)),
            dct: DeviceConfiguration())
        internalTiming = .internal(for: platform)
        externalTiming = .norFlash
    }

    public mutating func resetOperationLog() {
        log.removeAll()
        checkpoints.removeAll()
        operationCount = 0
    }

    public func flash(_ device: FlashDevice) -> FlashMemory? {
        switch device {
        case .internal: contents.internalFlash
        case .external: contents.externalFlash
        case .dct: nil
        }
    }

    public func read(_ device: FlashDevice, _ address: UInt32, count: Int) -> [UInt8] {
        flash(device)?.read(address, count: count) ?? []
    }

    /// Erases the sector holding `address`.
    public mutating func eraseSector(_ device: FlashDevice, containing address: UInt32) throws(PowerLost) {
        guard let sector = flash(device)?.sector(containing: address) else {
            preconditionFailure("no \(device) flash sector at \(hex(address))")
        }
        let operation = FlashOperation(number: operationCount + 1, kind: .erase, device: device, address: sector.start,
                                       length: sector.size, phase: phase)
        try perform(operation, data: []) { storage, landed in
            storage.mutate(device) { $0.erase(sector.start, length: landed) }
        }
        elapsed += timing(device).erase(sectorSize: sector.size)
    }

    /// Erases every sector the range touches.
    public mutating func eraseRange(_ device: FlashDevice, _ address: UInt32, length: Int) throws(PowerLost) {
        guard let sectors = flash(device)?.sectors(covering: address, length: length) else { return }
        for sector in sectors { try eraseSector(device, containing: sector.start) }
    }

    public mutating func program(_ device: FlashDevice, _ address: UInt32, _ bytes: [UInt8]) throws(PowerLost) {
        var operation = FlashOperation(number: operationCount + 1, kind: .program, device: device, address: address,
                                       length: bytes.count, phase: phase)
        var mismatches = 0
        try perform(operation, data: bytes) { storage, landed in
            storage.mutate(device) { mismatches = $0.program(address, bytes[0..<landed]) }
        }
        operation.notErasedBytes = mismatches
        if mismatches > 0, !log.isEmpty { log[log.count - 1].notErasedBytes = mismatches }
        elapsed += timing(device).program(bytes: bytes.count)
    }

    /// One atomic DCT write.
    public mutating func writeDCT(_ change: (inout DeviceConfiguration) -> Void) throws(PowerLost) {
        var updated = contents.dct
        change(&updated)
        let operation = FlashOperation(number: operationCount + 1, kind: .program, device: .dct, address: 0, length: 24, phase: phase)
        try perform(operation, data: []) { storage, landed in
            if landed == 24 { storage.contents.dct = updated }
        }
        elapsed += internalTiming.program(bytes: 24)
    }

    public mutating func flipBit(_ device: FlashDevice, at address: UInt32, bit: Int) {
        mutate(device) { $0.flipBit(at: address, bit: bit) }
    }

    /// Applies part of a recorded operation to its checkpoint: the state a torn cut leaves.
    public static func tornContents(_ checkpoint: Checkpoint, landedBytes: Int) -> Contents {
        var storage = Contents(internalFlash: checkpoint.contents.internalFlash, externalFlash: checkpoint.contents.externalFlash,
                               dct: checkpoint.contents.dct)
        let operation = checkpoint.operation
        let landed = min(landedBytes, operation.length)
        switch (operation.device, operation.kind) {
        case (.dct, _):
            break  // atomic: a torn DCT write leaves the old record
        case (.internal, .erase): storage.internalFlash.erase(operation.address, length: landed)
        case (.internal, .program): storage.internalFlash.program(operation.address, checkpoint.data[0..<landed])
        case (.external, .erase): storage.externalFlash?.erase(operation.address, length: landed)
        case (.external, .program): storage.externalFlash?.program(operation.address, checkpoint.data[0..<landed])
        }
        return storage
    }

    private func timing(_ device: FlashDevice) -> FlashTiming {
        device == .external ? externalTiming : internalTiming
    }

    private mutating func mutate(_ device: FlashDevice, _ body: (inout FlashMemory) -> Void) {
        switch device {
        case .internal: body(&contents.internalFlash)
        case .external:
            if contents.externalFlash != nil { body(&contents.externalFlash!) }
        case .dct: break
        }
    }

    /// Runs one operation under the fault plan: `apply` gets how many bytes land.
    private mutating func perform(
        _ operation: FlashOperation, data: [UInt8], apply: (inout BoardStorage, Int) -> Void
    ) throws(PowerLost) {
        if recordsCheckpoints {
            checkpoints.append(Checkpoint(contents: contents, operation: operation, data: data))
        }
        operationCount = operation.number
        if faults.powerLossBeforeOperation == operation.number {
            throw PowerLost(operation: operation.number)
        }
        if let torn = faults.tornOperation, torn.number == operation.number {
            var record = operation
            record.torn = true
            append(record)
            apply(&self, min(torn.landedBytes, operation.length))
            throw PowerLost(operation: operation.number)
        }
        append(operation)
        apply(&self, operation.length)
        for flip in faults.bitFlips where flip.afterOperation == operation.number {
            flipBit(flip.device, at: flip.address, bit: flip.bit)
        }
    }

    private mutating func append(_ operation: FlashOperation) {
        if log.count >= logLimit { log.removeFirst(log.count / 2) }
        log.append(operation)
    }
}
