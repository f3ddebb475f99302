import Firmware
import Serial

/// The USB serial console: the application's log in normal mode, and in listening mode the
/// single-key commands of §7.
extension BoardModel {
    /// Bytes the board has written to its serial port and nobody has read yet.
    public var pendingSerialOutput: Int { serialOutput.count }

    /// Takes up to `maximum` bytes of serial output.
    public mutating func takeSerialOutput(maximum: Int) -> [UInt8] {
        let count = min(maximum, serialOutput.count)
        let bytes = Array(serialOutput.prefix(count))
        serialOutput.removeFirst(count)
        return bytes
    }

    /// Bytes a host writes to the board's serial port.
    public mutating func serialInput(_ bytes: [UInt8]) {
        guard mode == .listening else { return }  // the application does not read its console here
        if ymodem != nil { return ymodemInput(bytes) }
        for (position, byte) in bytes.enumerated() {
            listeningModeCommand(byte)
            // A transfer started: what follows the `f` belongs to it.
            if ymodem != nil { return ymodemInput(Array(bytes[(position + 1)...])) }
        }
    }

    /// The host went quiet during a YMODEM transfer.
    public mutating func serialTimedOut() {
        guard var receiver = ymodem else { return }
        let output = receiver.timedOut()
        ymodem = receiver
        handle(output)
    }

    /// Gen 2-era `f` (DO-1.2.1 Ymodem_Serial_Flash_Update): the file goes through the same
    /// update path as an OTA, into the staging region, validated, queued, then a reset.
    mutating func ymodemInput(_ bytes: [UInt8]) {
        guard var receiver = ymodem else { return }
        if !receivingFile, bytes.first == UInt8(ascii: "a") {
            ymodem = nil
            write("Aborted\r\n")
            return
        }
        let output = receiver.receive(bytes)
        ymodem = receiver
        handle(output)
    }

    private mutating func handle(_ output: YModemReceiver.Output) {
        serialOutput += output.reply
        for event in output.events {
            switch event {
            case .fileStarted(_, let size):
                receivingFile = true
                guard let size else { return abortTransfer("the sender gave no file size") }
                // Whether DO-1.2.1 applies disableUpdates here is UNCONFIRMED; its serial path
                // prepares the update the way the cloud path does, so the same check applies.
                do { _ = try startUpdate(size: size, source: .serial) } catch { return abortTransfer(error.description) }
            case .data(let data):
                do { try receiveChunk(data) } catch { return abortTransfer(error.description) }
            case .fileFinished:
                break
            case .batchFinished:
                ymodem = nil
                receivingFile = false
                do {
                    let modules = try validateUpdate()
                    write("Restarting system to apply firmware update...\r\n")
                    applyUpdate(modules)
                } catch {
                    write("Update failed: \(error.systemError)\r\n")
                }
                return
            case .aborted(let reason):
                ymodem = nil
                receivingFile = false
                cancelUpdate()
                write("Transfer aborted: \(reason)\r\n")
                return
            }
        }
    }

    private mutating func abortTransfer(_ reason: String) {
        guard var receiver = ymodem else { return }
        let output = receiver.cancel(reason)
        ymodem = nil
        receivingFile = false
        serialOutput += output.reply
        cancelUpdate()
        write("Transfer aborted: \(reason)\r\n")
    }

    public mutating func enterListeningMode() {
        guard runsDeviceOS, mode != .listening else { return }
        modeBeforeListening = mode
        mode = .listening
        log("listening mode")
    }

    public mutating func exitListeningMode() {
        guard mode == .listening else { return }
        mode = modeBeforeListening
        log("listening mode exited")
    }

    /// One listening-mode key (§7): the first byte received is acted on.
    mutating func listeningModeCommand(_ byte: UInt8) {
        switch Character(UnicodeScalar(byte)) {
        case "i":
            write("Device ID: \(deviceID)\r\n")
        case "v":
            write("system firmware version: \(deviceOSVersion)\r\n")
        case "m":
            write("Your device MAC address is\r\n\(macAddress)\r\n")
        case "s":
            write(moduleTableDescription().json() + "\r\n")
        case "c":
            write("Device claimed: no\r\n")
        case "f":
            write("Waiting for the binary file to be sent ... (press 'a' to abort)\r\n")
            if platform.generation == .gen2 {
                // Gen 2-era Device OS receives the file by YMODEM into the staging region.
                let receiver = YModemReceiver(maximumFileSize: platform.staging.size)
                serialOutput += receiver.start()
                ymodem = receiver
            } else {
                // Current Device OS cancels the transfer at once (four CAN bytes, §7).
                serialOutput += [0x18, 0x18, 0x18, 0x18]
                write("Serial/YModem flashing is no longer supported\r\n")
            }
        case "x":
            exitListeningMode()
        case "L":
            // SYSTEM_FLAG_STARTUP_LISTEN_MODE, then a reset into safe mode, which listens.
            storage.phase = .external
            try? storage.writeDCT { $0.startupListenMode = true; $0.safeModeRequested = true }
            reset(.safeMode)
            if case .safeMode = mode, storage.contents.dct.startupListenMode {
                try? storage.writeDCT { $0.startupListenMode = false }
                enterListeningMode()
            }
        default:
            break
        }
    }

    var macAddress: String {
        let bytes = [0x3C, 0x61, 0x05] + deviceID.utf8.suffix(3).map { Int($0) }
        return bytes.map { String($0, radix: 16).leftPadded(2) }.joined(separator: ":")
    }

    /// The module table as Device OS prints it for `s` (§9).
    public func moduleTableDescription() -> ModuleTableDescription {
        let table = modules
        let installed = table.map(\.installed)
        let checked = ModuleTableDescription.Check.allCases.reduce(0) { $0 | $1.rawValue }
        let flash = storage.contents.internalFlash
        return ModuleTableDescription(platformID: Int(platform.id.rawValue), modules: table.map { module in
            var passed = ModuleTableDescription.Check.range.rawValue
            if module.crcOK { passed |= ModuleTableDescription.Check.integrity.rawValue }
            if unmetDependency(of: module, in: installed) == nil { passed |= ModuleTableDescription.Check.dependencies.rawValue }
            if module.prefix.platformID == platform.id { passed |= ModuleTableDescription.Check.platform.rawValue }
            let sha = flash.read(module.start + UInt32(module.size - 38), count: 32)
            return ModuleTableDescription.Module(
                maximumSize: module.slot.size, validityChecked: checked, validityResult: passed, sha256: sha.hexString,
                function: String(module.function.character), index: String(module.index), version: Int(module.version),
                dependencies: module.prefix.dependencies.map {
                    .init(function: String($0.function.character), index: String($0.index), version: Int($0.version))
                })
        })
    }

    mutating func write(_ text: String) {
        serialOutput += Array(text.utf8)
        if serialOutput.count > serialOutputLimit { serialOutput.removeFirst(serialOutput.count - serialOutputLimit) }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
