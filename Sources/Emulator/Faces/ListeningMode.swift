import Firmware
import Links
import Serial

/// The USB serial console: the application's log in normal mode, and in listening mode the
/// single-key commands of §7 (system/src/system_setup.cpp `SystemSetupConsole::handle`).
extension BoardModel {
    /// Bytes the board has written to its serial port and nobody has read yet.
    public var pendingSerialOutput: Int { serialOutput.count }

    /// Takes up to `maximum` bytes of serial output, whichever boot wrote them: one stream,
    /// as a host that follows the board across resets reads it.
    public mutating func takeSerialOutput(maximum: Int) -> [UInt8] {
        let count = min(maximum, serialOutput.count)
        let bytes = Array(serialOutput.prefix(count))
        serialOutput.removeFirst(count)
        unreadBeforeReset = max(0, unreadBeforeReset - count)
        return bytes
    }

    /// Takes up to `maximum` bytes for the USB line of boot `boot`: after a reset that line
    /// carries only what the board wrote before it ("Restarting system…" included, which
    /// Device OS flushes first); what the next boot writes belongs to its own line.
    public mutating func takeSerialOutput(maximum: Int, forBoot boot: Int) -> [UInt8] {
        takeSerialOutput(maximum: boot == bootCount ? maximum : min(maximum, unreadBeforeReset))
    }

    /// Bytes a host writes to the board's serial port, at `time` on the board's serial clock
    /// (the driver's; nil: no time has passed since it last said).
    public mutating func serialInput(_ bytes: [UInt8], at time: Duration? = nil) {
        serialTick(at: time ?? serialTime)
        guard mode == .listening else { return }  // the application does not read its console here
        if consoleDelay != nil { return hold(bytes[...]) }
        consoleInput(bytes[...])
    }

    /// Runs the board's serial timers up to `time`: a console delay that ended, and the YMODEM
    /// receiver's 5 s timeouts, as many as passed. Lazy: the driver calls it when the host reads
    /// or writes, and at `nextSerialDeadline`.
    public mutating func serialTick(at time: Duration) {
        serialTime = max(serialTime, time)
        while true {
            if let delay = consoleDelay {
                guard delay.due <= serialTime else { return }
                consoleDelay = nil
                ymodemWaitStart = delay.due
                perform(delay.then)
                // What the host sent meanwhile is read now, unless the board reset.
                let held = heldInput
                heldInput = []
                if mode == .listening, !held.isEmpty { consoleInput(held[...]) }
                continue
            }
            guard var receiver = ymodem, serialTime - ymodemWaitStart > DeviceOSYModemReceiver.byteTimeout else { return }
            ymodemWaitStart += DeviceOSYModemReceiver.byteTimeout
            let output = receiver.timedOut()
            ymodem = receiver
            writeBytes(output.reply)
            if let ending = output.ending { finishYModem(ending) }
        }
    }

    /// When the board's next console delay ends: the driver wakes it then, whether or not a
    /// host reads (the receiver's timeouts need no wake-up: they only matter to a host that reads).
    public var nextSerialDeadline: Duration? { consoleDelay?.due }

    /// The listening-mode console reading `bytes`: keys, or the YMODEM receiver's input.
    private mutating func consoleInput(_ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        while let byte = rest.first, mode == .listening {
            if consoleDelay != nil { return hold(rest) }
            if ymodem != nil {
                rest = rest.dropFirst(ymodemInput(Array(rest)))
                continue
            }
            // handle_peek (system_setup.cpp:178-187): an SOH or STX starts the receiver without
            // `f` and without a prompt, and the byte is the first of its packet.
            if deviceOS.takesYModem, byte == YModemControl.soh || byte == YModemControl.stx {
                startYModem()
                continue
            }
            rest = rest.dropFirst()
            listeningModeCommand(byte)
        }
    }

    /// The USB receive buffer while the console is in a delay; what does not fit is lost.
    private mutating func hold(_ bytes: ArraySlice<UInt8>) {
        heldInput += bytes
        if heldInput.count > serialOutputLimit { heldInput.removeFirst(heldInput.count - serialOutputLimit) }
    }

    private mutating func startYModem() {
        ymodem = DeviceOSYModemReceiver()
        ymodemWaitStart = serialTime
    }

    /// Feeds the receiver; returns how many bytes it took.
    private mutating func ymodemInput(_ bytes: [UInt8]) -> Int {
        guard var receiver = ymodem else { return 0 }
        let output = receiver.receive(bytes) { request in answer(request) }
        ymodem = receiver
        ymodemWaitStart = serialTime
        writeBytes(output.reply)
        if let ending = output.ending { finishYModem(ending) }
        return output.consumed
    }

    /// Spark_Prepare_For_Firmware_Update and Spark_Save_Firmware_Chunk for the receiver.
    private mutating func answer(_ request: DeviceOSYModemReceiver.Request) -> DeviceOSYModemReceiver.Answer {
        switch request {
        case .prepare(_, let size):
            // A header without a size: 5.x prepares the whole OTA region and reports its length
            // (system_update.cpp:363-365, the descriptor is the receiver's); 1.x keeps 0, as
            // parse_file_packet set the chunk size (v1.5.2 system_update.cpp:296-299).
            let oldRelease = deviceOS < DeviceOSVersion(2, 0, 0)
            let length = size == 0 ? platform.staging.size : size
            do { _ = try startUpdate(size: length, source: .serial) } catch { return .failed }
            return .prepared(length: size == 0 && oldRelease ? 0 : length)
        case .save(let block):
            do { try saveSerialBlock(block) } catch { return .failed }
            return .saved
        }
    }

    /// Ymodem_Serial_Flash_Update after receive_file returned (system_ymodem.cpp:300-356, the
    /// same in v1.5.2 but for the verdict's number), and system_fileTransfer after it.
    private mutating func finishYModem(_ ending: DeviceOSYModemReceiver.Ending) {
        ymodem = nil
        let cancel = [YModemControl.can, YModemControl.can]
        switch ending {
        case .received(let name, let length) where length > 0:
            do {
                // Device OS never compares what arrived with the announced size: validation of
                // the staged module decides (an erased tail fails its CRC).
                let modules = try validateUpdate(requireWholeFile: false)
                writeBytes([YModemControl.ack])
                write("\r\n\(YModemText.downloaded)\r\nName: \(name)\r\nSize: \(length) bytes\r\n")
                consoleDelay = ConsoleDelay(due: serialTime + .milliseconds(1000), then: .announceRestart(modules))
            } catch {
                writeBytes(cancel)
                write("\(YModemText.validationFailed) \(validationNumber(error))\r\n")
                // The board resets whether or not the update was applied: 5.x "keeps the
                // original Gen 2 behavior" (system_update.cpp:387-391) with RESET_REASON_UPDATE;
                // 1.x sets a pending shutdown that System.reset() carries out (RESET_REASON_USER,
                // v1.5.2 system_update.cpp:325-352, 400-405).
                reset(deviceOS.major < 2 ? .user : .update)
            }
        case .received:
            writeBytes(cancel)
            write("\(YModemText.receiveFailed)\r\n")
            closeAbandonedUpdate()
        case .prepareFailed:
            writeBytes(cancel)
            write("\(YModemText.prepareFailed)\r\n")
        case .saveFailed:
            // saveChunk ended the update itself (firmware_update.cpp:241-244).
            writeBytes(cancel)
            write("\(YModemText.saveFailed)\r\n")
        case .abortedByUser:
            writeBytes(cancel)
            write("\(YModemText.abortedByUser)\r\n")
            closeAbandonedUpdate()
        case .failed:
            writeBytes(cancel)
            write("\(YModemText.receiveFailed)\r\n")
            closeAbandonedUpdate()
        }
    }

    /// Nothing finishes an update that a YMODEM abort left: Ymodem_Serial_Flash_Update calls
    /// Spark_Finish_Firmware_Update only for a file received whole. From 3.0.0, FirmwareUpdate
    /// keeps it open until a reset, and the next start fails with INVALID_STATE
    /// (firmware_update.cpp:121-124; read from the code, not seen on a board). 1.x has no such
    /// state: its next prepare starts afresh.
    private mutating func closeAbandonedUpdate() {
        guard transfer != nil else { return }
        if deviceOS >= DeviceOSVersion(3, 0, 0) {
            transfer?.leftOpen = true
            log("system: YMODEM transfer ended; the update stays open until a reset")
        } else {
            cancelUpdate()
        }
    }

    /// The number in "Validation failed: …": 2.x and later print the system error
    /// (`%d`); 1.x the validation flags that failed, `validity_checked ^ validity_result` as
    /// `0x%x` (v1.5.2 system_ymodem.cpp:309-332, hal/src/stm32/ota_module.cpp fetch_module).
    private func validationNumber(_ error: UpdateError) -> String {
        guard deviceOS.major < 2 else { return "\(SystemError(name: error.systemError)?.rawValue ?? SystemError.unknown.rawValue)" }
        let flags: Int
        switch error {
        case .rejected(.corrupt): flags = 0x02  // MODULE_VALIDATION_INTEGRITY
        case .rejected(.wrongPlatform): flags = 0x10  // MODULE_VALIDATION_PLATFORM
        case .rejected(.unmetDependency), .rejected(.breaksInstalledModule): flags = 0x44  // DEPENDENCIES | DEPENDENCIES_FULL
        // A module outside its slot's bounds is not fetched: every check counts as failed.
        case .rejected: flags = 0x5E
        // No module at all: fetch_module zeroed everything.
        default: flags = 0
        }
        return "0x" + String(flags, radix: 16)
    }

    /// The end of a console delay.
    private mutating func perform(_ action: ConsoleDelay.Action) {
        switch action {
        case .refuseYModem:
            writeBytes(Array(repeating: YModemControl.can, count: 4))
            write("\(YModemText.noLongerSupported)\r\n")
        case .announceRestart(let modules):
            write("\(YModemText.restarting)\r\n")
            // 1.x and 2.x wait 100 ms before the reset; 3.0.0 and later reset through the
            // pending shutdown at once.
            if deviceOS.major < 3 {
                consoleDelay = ConsoleDelay(due: serialTime + .milliseconds(100), then: .restart(modules))
            } else {
                applyUpdate(modules)
            }
        case .restart(let modules):
            applyUpdate(modules)
        }
    }

    public mutating func enterListeningMode() {
        guard runsDeviceOS, mode != .listening else { return }
        // Logged before the mode changes, as Device OS logs "Entering listening mode" before
        // the handler is active (system_listening_mode.cpp:75 vs :109): this line gets out.
        log("listening mode")
        modeBeforeListening = mode
        mode = .listening
    }

    public mutating func exitListeningMode() {
        guard mode == .listening else { return }
        // Logged while still listening, so muted like Device OS's "Exiting listening mode" (:118 vs :130).
        log("listening mode exited")
        mode = modeBeforeListening
    }

    /// One listening-mode key (§7).
    mutating func listeningModeCommand(_ byte: UInt8) {
        switch Character(UnicodeScalar(byte)) {
        case "i":
            write(identityAnswer)
        case "v":
            // system_info.cpp:414-423 ends the version with "\n"; the console adds "\r\n".
            write("system firmware version: \(deviceOS)\n\r\n")
        case "m":
            // A board without Wi-Fi asks network_config(0), which has no interface, and prints
            // the zeroed address (system_setup.cpp:243-263, system_network_manager_api.cpp:144-157).
            write("Your device MAC address is\r\n\(hasWiFi ? macAddress : "00:00:00:00:00:00")\r\n")
        case "s":
            write(moduleTableDescription().json() + "\r\n")
        case "c":
            write("Device claimed: no\r\n")
        case "f":
            write("\(YModemText.prompt)\r\n")
            if deviceOS.takesYModem {
                startYModem()
            } else {
                consoleDelay = ConsoleDelay(due: serialTime + .milliseconds(100), then: .refuseYModem)
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

    /// `i` (system_setup.cpp:211-242): "Device ID:" and the HAL's key/values when it has any
    /// (device secret, serial number, then a cellular board's modem; ota_flash_hal.cpp
    /// HAL_OTA_Add_System_Info), else the old "Your device id is".
    var identityAnswer: String {
        var properties: [(key: String, value: String)] = []
        if let deviceSecret { properties.append(("Device Secret", deviceSecret)) }
        if let serialNumber { properties.append(("Serial Number", serialNumber)) }
        if platform.cellular {
            properties += [("IMEI", imei), ("ICCID", iccid)]
            if deviceOS.printsCellRadioVersion { properties.append(("Cell Radio Version", cellRadioVersion)) }
        }
        guard !properties.isEmpty else { return "Your device id is \(deviceID)\r\n" }
        return "Device ID: \(deviceID)\r\n" + properties.map { "\($0.key): \($0.value)\r\n" }.joined()
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
        // The modem's keys are added whatever the flags; the device secret and serial number
        // are not, for `s` asks with HAL_SYSTEM_INFO_FLAGS_CLOUD (system_info.cpp:321-402).
        let cellular = platform.cellular
        return ModuleTableDescription(
            platformID: Int(platform.id.rawValue), imei: cellular ? imei : nil, iccid: cellular ? iccid : nil,
            cellularFirmware: cellular && deviceOS.printsCellRadioVersion ? cellRadioVersion : nil, modules: table.map { module in
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
        writeBytes(Array(text.utf8))
    }

    mutating func writeBytes(_ bytes: [UInt8]) {
        serialOutput += bytes
        if serialOutput.count > serialOutputLimit {
            let dropped = serialOutput.count - serialOutputLimit
            serialOutput.removeFirst(dropped)
            unreadBeforeReset = max(0, unreadBeforeReset - dropped)
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
