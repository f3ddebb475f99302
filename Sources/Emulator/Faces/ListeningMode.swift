import Firmware

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
        for byte in bytes { listeningModeCommand(byte) }
    }

    public mutating func enterListeningMode() {
        guard runsDeviceOS else { return }
        mode = .listening
        log("listening mode")
    }

    public mutating func exitListeningMode() {
        guard mode == .listening else { return }
        mode = .running
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
            // Current Device OS cancels the YMODEM transfer at once (four CAN bytes, §7).
            // Gen 2-era firmware would receive the file; that receiver comes with the Serial module.
            serialOutput += [0x18, 0x18, 0x18, 0x18]
            write("Serial/YModem flashing is no longer supported\r\n")
        case "x":
            exitListeningMode()
        case "L":
            // SYSTEM_FLAG_STARTUP_LISTEN_MODE, then a reset into safe mode, which listens.
            storage.phase = .external
            try? storage.writeDCT { $0.startupListenMode = true; $0.safeModeRequested = true }
            reset(.safeMode)
            if case .safeMode = mode, storage.contents.dct.startupListenMode {
                try? storage.writeDCT { $0.startupListenMode = false }
                mode = .listening
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
