import Firmware

/// Cuts the power before every flash operation of an OTA (and inside them, with `torn`),
/// powers the board back up twice, and sorts what it then runs into outcomes.
///
/// A cut at operation N leaves exactly the persistent state that existed before N (RAM is
/// gone), so one uncut reference run records a checkpoint before each operation and every
/// cut point replays from its checkpoint: no replay from the start.
public struct PowerCutSweep: Sendable {
    public enum Phase: String, Hashable, Sendable, CaseIterable {
        /// Staging erase, download, and queueing.
        case download
        /// The bootloader's copy and the boot after it.
        case apply
        case all

        func includes(_ phase: UpdatePhase) -> Bool {
            switch self {
            case .all: true
            case .download: phase == .download || phase == .validate || phase == .queue
            case .apply: phase == .applyCopy || phase == .boot
            }
        }
    }

    public enum Outcome: String, Hashable, Sendable, CaseIterable, Codable, Comparable {
        case oldApp = "old-app"
        case newApp = "new-app"
        case factoryApp = "factory-app"
        case safeMode = "safe-mode"
        case dfuMode = "dfu-mode"
        case hardBrick = "hard-brick"
        case invalidModuleRunning = "invalid-module-running"

        public static func < (lhs: Self, rhs: Self) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public struct CutPoint: Hashable, Sendable, Codable {
        public var operation: Int
        public var phase: UpdatePhase
        public var kind: FlashOperation.Kind
        public var device: FlashDevice
        public var address: UInt32
        /// Nil for a cut before the operation; for a torn one, how many bytes of it landed.
        public var landedBytes: Int?
    }

    public struct Result: Sendable {
        public var platform: Platform
        public var operations: Int
        public var cutPoints: Int
        public var outcomes: [Outcome: [CutPoint]]
        /// Virtual time of the uncut update, download to running the new app.
        public var modelledUpdateTime: Duration

        public func count(_ outcome: Outcome) -> Int { outcomes[outcome]?.count ?? 0 }
        public func outcomes(outside allowed: Set<Outcome>) -> [Outcome] {
            outcomes.keys.filter { !allowed.contains($0) }.sorted()
        }
    }

    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var platform: Platform
    public var image: [UInt8]
    public var phase: Phase
    public var torn: Bool
    public var defects: Set<Defect>
    /// The board before the update (running the old app).
    public var board: BoardModel

    /// A sweep of `image` onto a board of its platform running the standard firmware set;
    /// the emulated Device OS is raised to whatever the image needs.
    public init(image: [UInt8], platform: Platform? = nil, phase: Phase = .all, torn: Bool = false, defects: Set<Defect> = []) throws {
        let file: ModuleFile
        do { file = try ModuleFile(bytes: image) } catch { throw Failure(description: "the image is not a module: \(error)") }
        guard let first = file.modules.first else { throw Failure(description: "the image holds no module") }
        guard let platform = platform ?? first.platform else {
            throw Failure(description: "the image is for platform \(first.platformID.rawValue), which otabench does not emulate")
        }
        let needed = file.modules.flatMap(\.prefix.dependencies).filter { $0.function == .system }.map(\.version).max()
        let firmware = try FirmwareSet.standard(for: platform, systemVersion: needed)
        self.platform = platform
        self.image = image
        self.phase = phase
        self.torn = torn
        self.defects = defects
        self.board = try BoardModel.provisioned(platform: platform, firmware: firmware, defects: defects)
    }

    public func run() throws -> Result {
        let oldApp = board.runningApp?.storedCRC
        guard board.mode == .running, oldApp != nil else {
            throw Failure(description: "the emulated \(platform.buildName) does not run its app before the update (\(board.mode.name))")
        }
        var reference = board
        reference.storage.resetOperationLog()
        reference.storage.recordsCheckpoints = true
        let start = reference.now
        do {
            let chunk = try reference.startUpdate(size: image.count, source: .cloud)
            var offset = 0
            while offset < image.count {
                let end = min(offset + chunk, image.count)
                try reference.receiveChunk(Array(image[offset..<end]))
                offset = end
            }
            try reference.finishUpdate()
        } catch {
            throw Failure(description: "the board refused the update, so there is nothing to cut: \(error.systemError): \(error)")
        }
        guard reference.mode == .running, let newApp = reference.runningApp?.storedCRC, newApp != oldApp else {
            throw Failure(description: "the uncut update did not end with the new app running (\(reference.mode.name))")
        }
        let factoryApp = factoryAppCRC()
        var outcomes: [Outcome: [CutPoint]] = [:]
        var cutPoints = 0
        for checkpoint in reference.storage.checkpoints where phase.includes(checkpoint.operation.phase) {
            var variants: [Int?] = [nil]
            if torn, checkpoint.operation.device != .dct, checkpoint.operation.length > 1 {
                variants.append(checkpoint.operation.length / 2)
            }
            for landed in variants {
                var cut = board
                cut.storage.contents = landed.map { BoardStorage.tornContents(checkpoint, landedBytes: $0) } ?? checkpoint.contents
                cut.storage.recordsCheckpoints = false
                cut.powerOff()
                cut.powerOn()
                cut.reset(.user)
                let outcome = Self.classify(cut, oldApp: oldApp!, newApp: newApp, factoryApp: factoryApp)
                let operation = checkpoint.operation
                outcomes[outcome, default: []].append(CutPoint(
                    operation: operation.number, phase: operation.phase, kind: operation.kind, device: operation.device,
                    address: operation.address, landedBytes: landed))
                cutPoints += 1
            }
        }
        return Result(platform: platform, operations: reference.storage.operationCount, cutPoints: cutPoints,
                      outcomes: outcomes, modelledUpdateTime: reference.now - start)
    }

    func factoryAppCRC() -> UInt32? {
        guard let record = board.factoryImageRecord() else { return nil }
        let bytes = board.storage.read(record.sourceDevice, record.sourceAddress, count: record.length)
        return bytes.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: record.length - 4, as: UInt32.self)) }
    }

    static func classify(_ board: BoardModel, oldApp: UInt32, newApp: UInt32, factoryApp: UInt32?) -> Outcome {
        if board.executingCorruptModule != nil { return .invalidModuleRunning }
        switch board.mode {
        case .bricked, .off: return .hardBrick
        case .dfu: return .dfuMode
        case .safeMode: return .safeMode
        case .running, .listening:
            // Device OS up without an application to run: as good as safe mode for the promise.
            guard let app = board.runningApp else { return .safeMode }
            if app.storedCRC == newApp { return .newApp }
            if app.storedCRC == oldApp { return .oldApp }
            if let factoryApp, app.storedCRC == factoryApp { return .factoryApp }
            return .invalidModuleRunning
        }
    }
}
