import Firmware
import Links

extension BoardModel {
    /// The v3 receive window: chunks further ahead than this are dropped (the sender resends).
    public static let cloudReceiveWindow = 128 * 1024

    /// UpdateStart: the file's size, SHA-256 and chunk size. The answer is the offset to start
    /// from: where a transfer of the same file stopped (the device keeps the partial data while
    /// it runs), unless `discardData`; 0 for a new file.
    public mutating func cloudUpdateStart(size: Int, sha256: [UInt8], chunkSize: Int, discardData: Bool = false) throws(UpdateError) -> Int {
        guard chunkSize >= 512, chunkSize % 4 == 0 else { throw .invalidState("chunk size \(chunkSize): at least 512, a multiple of 4") }
        if !discardData, let current = transfer, current.sha256 == sha256, current.size == size, current.chunkSize == chunkSize {
            log("system: firmware update resumed at \(current.received) of \(size) bytes")
            return current.received
        }
        _ = try startUpdate(size: size, source: .cloud)
        transfer?.chunkSize = chunkSize
        transfer?.sha256 = sha256
        return 0
    }

    /// UpdateChunk `index`: written in order into staging; chunks ahead of the next expected
    /// one wait in the window; duplicates are dropped. Returns the acknowledgement.
    public mutating func cloudUpdateChunk(index: Int, data: [UInt8]) throws(UpdateError) -> CloudTransferAck {
        guard var current = transfer, current.sha256 != nil else { throw .invalidState("no update in progress") }
        let chunkCount = (current.size + current.chunkSize - 1) / current.chunkSize
        guard index >= 0, index < chunkCount else { throw .outOfRange }
        let expectedLength = min(current.chunkSize, current.size - index * current.chunkSize)
        guard data.count == expectedLength else { throw .invalidState("chunk \(index) has \(data.count) bytes, not \(expectedLength)") }
        // The next chunk expected (a complete file ends on a partial chunk).
        var next = (current.received + current.chunkSize - 1) / current.chunkSize
        if index > next, (index - next) * current.chunkSize < Self.cloudReceiveWindow {
            current.ahead[index] = data
            transfer = current
        } else if index == next {
            try receiveChunk(data)
            next += 1
            // What waited for this chunk follows it in.
            while let waiting = transfer?.ahead.removeValue(forKey: next) {
                try receiveChunk(waiting)
                next += 1
            }
        }
        guard let after = transfer else { throw .invalidState("the update was cancelled") }
        // Whole chunks in, the last one counting whole when the file is complete.
        return CloudTransferAck(upTo: (after.received + after.chunkSize - 1) / after.chunkSize, selective: after.ahead.keys.sorted())
    }

    /// UpdateFinish: the whole file must hash to the SHA-256 announced at the start, then it is
    /// validated and applied as any update (or `cancel` drops it).
    public mutating func cloudUpdateFinish(cancel: Bool = false) throws(UpdateError) {
        guard let current = transfer, let expected = current.sha256 else { throw .invalidState("no update in progress") }
        if cancel {
            cancelUpdate()
            return
        }
        guard current.received == current.size else {
            throw .invalidState("\(current.size - current.received) bytes missing")
        }
        let staged = storage.read(stagingDevice, platform.staging.address, count: current.size)
        guard SHA256.digest(staged) == expected else {
            cancelUpdate()
            log("system: firmware update refused, the file does not match its SHA-256")
            throw .invalidState("the received file does not match the SHA-256 announced at the start")
        }
        try finishUpdate()
    }
}
