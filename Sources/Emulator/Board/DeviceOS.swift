import Firmware

/// Device OS on the board: the OTA receive path (§5.2 steps 1–4, §6.3) and update control (§8.3).
extension BoardModel {
    /// Where updates come from; both go through FirmwareUpdate::startUpdate.
    public enum UpdateSource: Hashable, Sendable {
        /// The cloud's OTA protocol: 512-byte chunks (HAL_OTA_ChunkSize).
        case cloud
        /// START_FIRMWARE_UPDATE over USB control requests: chunk size hard-coded to 1024.
        case usb
        /// YMODEM in listening mode (`f`, before 6.0.0): 128- or 1024-byte blocks.
        case serial

        var chunkSize: Int { self == .cloud ? 512 : 1024 }
    }

    public var runsDeviceOS: Bool {
        switch mode {
        case .running, .safeMode, .listening: true
        default: false
        }
    }

    var stagingDevice: FlashDevice { platform.staging.location == .external ? .external : .internal }

    /// FirmwareUpdate::startUpdate + FLASH_Begin: refused when updates are disabled and not
    /// forced; otherwise drops queued slots (Gen 3), erases `size` bytes of the staging
    /// region and clears the pending flag. Returns the chunk size.
    public mutating func startUpdate(size: Int, source: UpdateSource) throws(UpdateError) -> Int {
        guard runsDeviceOS else { throw .notRunning(mode) }
        if transfer?.leftOpen == true { throw .invalidState("Firmware update is already in progress") }
        let forced = updateFlags.forced && !defects.contains(.ignoreForcedUpdates)
        guard updateFlags.enabled || forced || defects.contains(.ignoreDisableUpdates) else {
            log("system: update refused, updates are disabled")
            throw .updatesDisabled
        }
        guard size > 0, size <= platform.staging.size else { throw .invalidSize(size, maximum: platform.staging.size) }
        if transfer != nil { cancelUpdate() }
        storage.phase = .download
        do {
            // Gen 3 drops an update that was queued but not applied; Gen 2 does not (§5.2 items 1, 10).
            if platform.mcu != .stm32f2xx, !storage.contents.dct.queuedSlots.isEmpty {
                try storage.writeDCT { dct in for (index, _) in dct.queuedSlots { dct.moduleSlots[index] = nil } }
            }
            try storage.eraseRange(stagingDevice, platform.staging.address, length: size)
        } catch {
            powerOff()
            throw .invalidState("power lost")
        }
        updateFlags.pending = false
        transfer = Transfer(size: size, received: 0, chunkSize: source.chunkSize)
        events.append(.firmwareUpdate(.begin))
        log("system: firmware update started, \(size) bytes")
        return source.chunkSize
    }

    /// FIRMWARE_UPDATE_DATA / an OTA chunk: written straight into the staging region while
    /// the application keeps running. Any error cancels the whole transfer (§6.3).
    public mutating func receiveChunk(_ data: [UInt8]) throws(UpdateError) {
        guard var current = transfer else { throw .invalidState("no update in progress") }
        guard !data.isEmpty, current.received + data.count <= current.size else {
            cancelUpdate()
            throw .outOfRange
        }
        storage.phase = .download
        do {
            try storage.program(stagingDevice, platform.staging.address + UInt32(current.received), data)
        } catch {
            powerOff()
            throw .invalidState("power lost")
        }
        current.received += data.count
        transfer = current
        events.append(.firmwareUpdate(.progress))
    }

    /// Spark_Save_Firmware_Chunk for a YMODEM block: the whole block at the next offset,
    /// padding included, as Device OS writes it (it never compares what arrived with the
    /// announced size); it fails only past the staging region (HAL_FLASH_Update), which ends
    /// the update (firmware_update.cpp:241-244). The padding past the announced size is written
    /// too (system_ymodem.cpp:227 makes every chunk the whole block; saveChunk and HAL_FLASH_Update
    /// do not clamp it): it lands in the sectors erased for the size, as 128 and 1024 divide every
    /// sector size, and validation, reading the module's own length, never looks at it.
    public mutating func saveSerialBlock(_ block: [UInt8]) throws(UpdateError) {
        guard var current = transfer else { throw .invalidState("no update in progress") }
        guard current.received + block.count <= platform.staging.size else {
            cancelUpdate()
            throw .outOfRange
        }
        if !block.isEmpty {
            storage.phase = .download
            do {
                try storage.program(stagingDevice, platform.staging.address + UInt32(current.received), block)
            } catch {
                powerOff()
                throw .invalidState("power lost")
            }
        }
        current.received += block.count
        transfer = current
        events.append(.firmwareUpdate(.progress))
    }

    /// FINISH_FIRMWARE_UPDATE / HAL_FLASH_End: validates the whole image (integrity,
    /// DEPENDENCIES_FULL, platform, range, format) and queues it only when valid, then
    /// resets with RESET_REASON_UPDATE. `validateOnly` validates and cancels (§6.3).
    public mutating func finishUpdate(validateOnly: Bool = false) throws(UpdateError) {
        let modules = try validateUpdate()
        if validateOnly {
            cancelUpdate()
            log("system: image valid (validate only); transfer cancelled")
            return
        }
        // Power lost while queueing: nothing was applied, and a board that is off answers nothing
        // (the cloud must not hear the update finished).
        guard applyUpdate(modules) else { throw .invalidState("power lost") }
    }

    /// The validation half of finishing: the modules to queue, or the error Device OS
    /// reports (and the transfer is over, nothing queued). `requireWholeFile`: the control
    /// request and cloud paths refuse a short transfer before validating; YMODEM's does not, and
    /// the staged module's own checks decide.
    public mutating func validateUpdate(requireWholeFile: Bool = true) throws(UpdateError) -> [FirmwareModule] {
        guard let current = transfer else { throw .invalidState("no update in progress") }
        if requireWholeFile, current.received < current.size, !defects.contains(.acceptTruncatedImage) {
            cancelUpdate()
            throw .invalidState("\(current.size - current.received) bytes missing")
        }
        storage.phase = .validate
        // A board with the accept-truncated defect validates the announced size, erased tail and all.
        let staged = storage.read(stagingDevice, platform.staging.address, count: current.size)
        let modules: [FirmwareModule]
        do {
            modules = Array(try ModuleFile(bytes: staged).modules.prefix(ModuleFile.maximumCombinedModules))
        } catch {
            fail(.moduleNotFound(error.description))
            throw .moduleNotFound(error.description)
        }
        let installed = self.modules.map(\.installed)
        for module in modules {
            if let problem = refusal(of: module, installed: installed, truncated: current.received < current.size) {
                fail(.rejected(problem))
                throw .rejected(problem)
            }
        }
        return modules
    }

    /// The applying half: queue every module for the bootloader and restart (§5.2 step 4).
    /// False when the power was cut while queueing (the board is off, nothing restarted).
    @discardableResult
    public mutating func applyUpdate(_ modules: [FirmwareModule]) -> Bool {
        storage.phase = .queue
        do {
            for module in modules {
                let record = ModuleSlotRecord(
                    sourceDevice: stagingDevice, sourceAddress: platform.staging.address + UInt32(module.offset),
                    destination: module.startAddress, length: module.size, function: module.function.rawValue,
                    dropModuleInfo: module.flags.contains(.dropModuleInfo), compressed: module.flags.contains(.compressed))
                try storage.writeDCT { dct in
                    if let free = (1..<DeviceConfiguration.slotCount).first(where: { dct.moduleSlots[$0] == nil }) {
                        dct.moduleSlots[free] = record
                    }
                }
            }
        } catch {
            powerOff()
            return false
        }
        transfer = nil
        events.append(.firmwareUpdate(.complete))
        log("system: firmware update complete; restarting to apply it")
        reset(.update)
        return true
    }

    /// A whole update the way its source sends it: start, every chunk, finish.
    public mutating func receiveUpdate(_ image: [UInt8], source: UpdateSource) throws(UpdateError) {
        let chunk = try startUpdate(size: image.count, source: source)
        var offset = 0
        while offset < image.count {
            let end = min(offset + chunk, image.count)
            try receiveChunk(Array(image[offset..<end]))
            offset = end
        }
        try finishUpdate()
    }

    /// CANCEL_FIRMWARE_UPDATE: ends the transfer; always succeeds.
    public mutating func cancelUpdate() {
        guard transfer != nil else { return }
        transfer = nil
        events.append(.firmwareUpdate(.failed))
        log("system: firmware update cancelled")
    }

    /// Device OS's verdict on a staged module, bent by the board's defects.
    func refusal(of module: FirmwareModule, installed: [InstalledModule], truncated: Bool) -> Incompatibility? {
        let verdict = Compatibility.check(module, on: platform, installed: installed, policy: .userPartDependenciesOptional)
        return verdict.problems.first { problem in
            switch problem {
            case .corrupt: !defects.contains(.skipCRCCheck) && !(truncated && defects.contains(.acceptTruncatedImage))
            case .wrongPlatform: !defects.contains(.ignorePlatformID)
            case .unmetDependency, .breaksInstalledModule: !defects.contains(.ignoreDependencies)
            default: true
            }
        }
    }

    mutating func fail(_ error: UpdateError) {
        transfer = nil
        events.append(.firmwareUpdate(.failed))
        log("system: firmware update failed: \(error.systemError): \(error)")
    }

    // MARK: Update control (§8.3)

    /// `System.disableUpdates()`: holds cloud and USB control-request updates back unless
    /// forced; an update already running goes on; DFU is not affected.
    public mutating func disableUpdates() {
        guard updateFlags.enabled else { return }
        updateFlags.enabled = false
        events.append(.updatesEnabledPublished(false))
    }

    public mutating func enableUpdates() {
        guard !updateFlags.enabled else { return }
        updateFlags.enabled = true
        events.append(.updatesEnabledPublished(true))
    }

    /// The cloud's `particle/device/updates/pending` notice: "true" sets the flag, anything
    /// else clears it; setting it fires `firmware_update_pending`.
    public mutating func receiveUpdatesPendingNotice(_ data: String) {
        let pending = data == "true"
        updateFlags.pending = pending
        if pending { events.append(.firmwareUpdatePending) }
        let status: UpdateStatus = pending ? .pending : .notAvailable
        if status != updateFlags.status {
            updateFlags.status = status
            events.append(.firmwareUpdateStatus(status))
        }
    }

    /// The cloud's `particle/device/updates/forced` notice; the device echoes it back.
    public mutating func receiveUpdatesForcedNotice(_ data: String) {
        let forced = data == "true"
        guard forced != updateFlags.forced else { return }
        updateFlags.forced = forced
        events.append(.updatesForcedPublished(forced))
    }
}
