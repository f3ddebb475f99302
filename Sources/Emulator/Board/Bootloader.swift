import Firmware

/// The bootloader: applies queued module slots the way each generation's source does
/// (§5.2 steps 4–6, §5.3), then decides what runs (§4, §5.2 item 10).
extension BoardModel {
    mutating func runBootloader() throws(PowerLost) {
        storage.phase = .applyCopy
        let flash = storage.contents.internalFlash
        guard let bootloader = ModuleTable.module(in: platform.slot(for: .bootloader, index: 0)!, platform: platform, flash: flash),
              bootloader.crcOK
        else {
            // A damaged bootloader is not code anything can run; DFU lives in it.
            mode = .bricked(reason: "the bootloader is damaged")
            log("bootloader: damaged; the board does not start")
            return
        }
        switch platform.mcu {
        case .stm32f2xx: try applyQueuedModulesGen2()
        case .nrf52840, .rtl872x: try applyQueuedModulesGen3()
        }
        storage.phase = .boot
        try startSystem()
    }

    // MARK: Gen 3 (nRF52840, RTL872x): copy, then clear the slot

    /// FLASH_UpdateModules (nRF52840, §5.2 step 5): each non-bootloader slot is verified,
    /// copied, and only then cleared, whatever the copy returned; a cut copy is redone at
    /// the next boot. Bootloader slots come last and are cleared before copying.
    mutating func applyQueuedModulesGen3() throws(PowerLost) {
        let queued = storage.contents.dct.queuedSlots
        for (index, record) in queued where record.function != ModuleFunction.bootloader.rawValue {
            if defects.contains(.nonAtomicApply) { try clearSlot(index) }
            var record = record
            if platform.mcu == .rtl872x, record.function == ModuleFunction.system.rawValue, overlaps(record) {
                guard queued.count == 1 else { continue }  // it waits until it is the only pending slot
                // RTL872x (§5.2 item 7): the image goes to RAM, the slot is cleared, the image is
                // written back where it does not overlap, and the slot is re-armed. A cut inside
                // that window loses the update; the old system part keeps running.
                let image = storage.read(record.sourceDevice, record.sourceAddress, count: record.length)
                try clearSlot(index)
                let end = UInt64(max(record.sourceAddress, record.destination)) + UInt64(record.length)
                let relocated = UInt32((end + 0xFFF) & ~0xFFF)
                try write(image, to: .internal, at: relocated, phase: .applyCopy)
                record.sourceAddress = relocated
                try storage.writeDCT { [record] in $0.moduleSlots[index] = record }
            }
            if verify(record) {
                log("bootloader: applying slot \(index): \(functionName(record)) to \(hex(record.destination))")
                try copy(record)
            } else {
                log("bootloader: slot \(index) failed verification; dropped")
            }
            if !defects.contains(.nonAtomicApply) { try clearSlot(index) }
        }
        for (index, record) in queued where record.function == ModuleFunction.bootloader.rawValue {
            try clearSlot(index)
            if verify(record) { try copy(record) }
        }
    }

    // MARK: Gen 2 (STM32F2xx): clear every slot, then copy

    /// DO-1.2.1 FLASH_UpdateModules (§5.2 item 10): every queued slot is read into RAM and
    /// cleared first, then copied sector by sector; the copy's result is ignored and a cut
    /// copy is never retried. On the Photon and P1 the bootloader reads the DCT through
    /// system part 2, and does so only when parts 1 and 2 pass their CRC.
    mutating func applyQueuedModulesGen2() throws(PowerLost) {
        let queued = storage.contents.dct.queuedSlots
        guard !queued.isEmpty else { return try restoreFactoryAppIfRequested() }
        if platform.id == 6 || platform.id == 8 {
            let flash = storage.contents.internalFlash
            let parts = [1, 2].map { platform.slot(for: .system, index: $0).flatMap { ModuleTable.module(in: $0, platform: platform, flash: flash) } }
            guard parts.allSatisfy({ $0?.crcOK == true }) else {
                log("bootloader: system parts fail their CRC; the DCT cannot be read, nothing applied")
                return
            }
        }
        for (index, _) in queued { try clearSlot(index) }
        for (index, record) in queued {
            if verify(record) {
                log("bootloader: applying slot \(index): \(functionName(record)) to \(hex(record.destination))")
                try copy(record)
            } else {
                log("bootloader: slot \(index) failed verification; dropped")
            }
        }
        try restoreFactoryAppIfRequested()
    }

    /// FACTORY_Flash_Reset: restores the user app from the factory image (CRC checked).
    mutating func restoreFactoryAppIfRequested() throws(PowerLost) {
        guard storage.contents.dct.factoryResetRequested else { return }
        if let factory = factoryImageRecord(), verify(factory) {
            log("bootloader: restoring the factory app")
            try copy(factory)
        } else {
            log("bootloader: no valid factory image")
        }
        try storage.writeDCT { $0.factoryResetRequested = false }
        lastResetReason = .factoryReset
    }

    /// The factory image as a copy record: its place and the user slot it restores.
    func factoryImageRecord() -> ModuleSlotRecord? {
        guard let area = platform.factoryImage, let user = platform.slots.first(where: { $0.function == .user }) else { return nil }
        let device: FlashDevice = area.location == .external ? .external : .internal
        let header = storage.read(device, area.address, count: 24)
        guard let prefix = ModulePrefix(header, at: 0), let size = prefix.moduleSize, size <= area.size else { return nil }
        return ModuleSlotRecord(sourceDevice: device, sourceAddress: area.address, destination: user.start, length: size,
                                function: ModuleFunction.user.rawValue, dropModuleInfo: false, compressed: false)
    }

    // MARK: Copying

    mutating func clearSlot(_ index: Int) throws(PowerLost) {
        try storage.writeDCT { $0.moduleSlots[index] = nil }
    }

    func overlaps(_ record: ModuleSlotRecord) -> Bool {
        record.sourceDevice == .internal
            && UInt64(record.sourceAddress) < UInt64(record.destination) + UInt64(record.length)
            && UInt64(record.destination) < UInt64(record.sourceAddress) + UInt64(record.length)
    }

    func functionName(_ record: ModuleSlotRecord) -> String { ModuleFunction(rawValue: record.function).name }

    /// FLASH_CheckCopyMemory / FLASH_CopyMemory's checks on the source: bounds, platform,
    /// start address equal to the destination, function, length, and the CRC.
    func verify(_ record: ModuleSlotRecord) -> Bool {
        guard record.length > ModulePrefix.size + 4, let source = storage.flash(record.sourceDevice),
              source.contains(record.sourceAddress, length: record.length)
        else { return false }
        let bytes = source.read(record.sourceAddress, count: record.length)
        let function = ModuleFunction(rawValue: record.function)
        let prefixOffset = platform.prefixOffset(for: function)
        guard let prefix = ModulePrefix(bytes, at: prefixOffset) else { return false }
        if prefix.platformID != platform.id, !defects.contains(.ignorePlatformID), function != .resource { return false }
        guard prefix.function == function, prefix.startAddress == record.destination, prefix.moduleSize == record.length else { return false }
        if !defects.contains(.skipCRCCheck) {
            let stored = bytes.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: record.length - 4, as: UInt32.self)) }
            guard stored == CRC32.checksum(bytes, range: 0..<(record.length - 4)) else { return false }
        }
        return true
    }

    /// Erase and program, sector by sector, from the staged source to the destination.
    mutating func copy(_ record: ModuleSlotRecord) throws(PowerLost) {
        var data = storage.read(record.sourceDevice, record.sourceAddress, count: record.length)
        var destination = record.destination
        if record.compressed {
            let prefixSize = ModulePrefix.size
            guard let header = CompressedModuleHeader(data, at: prefixSize),
                  let inflated = try? RawDeflate.decompress(data[(prefixSize + Int(header.headerSize))..<(data.count - 4)],
                                                           expectedSize: Int(header.originalSize), windowBits: header.effectiveWindowBits)
            else { return }
            data = Array(data[0..<prefixSize]) + inflated
        }
        if record.dropModuleInfo {
            data.removeFirst(min(ModulePrefix.size, data.count))
            destination += UInt32(ModulePrefix.size)
        }
        // nRF52840: a user part for the 256 KB slot first erases the legacy slot's first page,
        // so the old compat app cannot take precedence (§5.2 step 5).
        if platform.mcu == .nrf52840, record.function == ModuleFunction.user.rawValue, destination == 0x000B_4000,
           storage.contents.internalFlash.sector(containing: 0x000D_4000) != nil, data.count <= 0x0002_0000 {
            try storage.eraseSector(.internal, containing: 0x000D_4000)
        }
        let flash = storage.contents.internalFlash
        for sector in flash.sectors(covering: destination, length: data.count) {
            try storage.eraseSector(.internal, containing: sector.start)
            var cursor = max(sector.start, destination)
            let sectorEnd = UInt64(sector.start) + UInt64(sector.size)
            let dataEnd = UInt64(destination) + UInt64(data.count)
            while UInt64(cursor) < min(sectorEnd, dataEnd) {
                let chunkEnd = min(UInt64(cursor) + 4096, min(sectorEnd, dataEnd))
                let offset = Int(cursor - destination)
                try storage.program(.internal, cursor, Array(data[offset..<(offset + Int(chunkEnd - UInt64(cursor)))]))
                cursor = UInt32(chunkEnd)
            }
        }
    }

    // MARK: Starting the system

    /// What runs after the copy: Device OS and the app, safe mode, DFU or nothing (§4, §5.2 item 10).
    mutating func startSystem() throws(PowerLost) {
        let table = modules
        func module(_ function: ModuleFunction, _ index: UInt8) -> InstalledModuleRecord? {
            table.first { $0.function == function && $0.index == index }
        }
        let systemParts = platform.slots.filter { $0.function == .system }.map { module($0.function, $0.index) }
        let checksCRC = !defects.contains(.skipCRCCheck)

        if platform.mcu == .stm32f2xx {
            // is_application_valid: only system part 1's header (start, end, platform); no CRC.
            guard let part1 = systemParts.first ?? nil, part1.prefix.platformID == platform.id else {
                if factoryImageRecord().map(verify) == true {
                    mode = .bricked(reason: "system part 1 header is invalid: the bootloader restores the factory app and resets, forever")
                } else {
                    enterDFU("system part 1 header is invalid and there is no factory image")
                }
                return
            }
            // Photon/P1 check part 2's CRC (HAL_Core_Validate_Modules); the Electron checks none.
            // Part 1 itself is never CRC-checked: a damaged one is jumped into.
            if let broken = systemParts.compactMap({ $0 }).first(where: { !$0.crcOK }) {
                if broken.index == 1 || platform.id == 10 || !checksCRC {
                    executeCorrupt(broken)
                    return
                }
                return enterSafeMode("system part \(broken.index) fails its CRC")
            }
            if systemParts.contains(where: { $0 == nil }) { return enterSafeMode("a system part is missing") }
        } else {
            // The Gen 3 and RTL872x bootloaders stay in DFU when the system cannot start.
            guard systemParts.allSatisfy({ $0 != nil }) else { return enterDFU("no system firmware") }
            if let broken = systemParts.compactMap({ $0 }).first(where: { !$0.crcOK }) {
                guard checksCRC else { return executeCorrupt(broken) }
                return enterDFU("system part \(broken.index) fails its CRC")
            }
        }
        // Device OS: system-part dependencies, then the user part (§4).
        let installed = table.map(\.installed)
        if !defects.contains(.ignoreDependencies) {
            for part in systemParts.compactMap({ $0 }) {
                if let unmet = unmetDependency(of: part, in: installed) {
                    return enterSafeMode("system part \(part.index) needs \(unmet)")
                }
            }
        }
        if storage.contents.dct.safeModeRequested {
            try storage.writeDCT { $0.safeModeRequested = false }
            return enterSafeMode("safe mode requested")
        }
        try startApplication(table: table, installed: installed)
    }

    mutating func startApplication(table: [InstalledModuleRecord], installed: [InstalledModule]) throws(PowerLost) {
        // nRF52840: a valid legacy-slot app takes precedence over the 256 KB slot (§2.6).
        let candidates = table.filter { $0.function == .user }.sorted { $0.index < $1.index }
        guard let app = candidates.first(where: \.crcOK) ?? candidates.first else {
            if platform.mcu == .stm32f2xx, !factoryRestoredThisBoot, factoryImageRecord().map(verify) == true {
                // HAL_Core_Validate_User_Module: no valid user header but a factory image:
                // factory reset, and the bootloader restores the factory app.
                log("system: no valid application header; factory reset")
                try storage.writeDCT { $0.factoryResetRequested = true }
                factoryRestoredThisBoot = true
                events.append(.reset(.factoryReset))
                bootCount += 1
                try restoreFactoryAppIfRequested()
                return try startSystem()
            }
            mode = .running
            log("Device OS: running, no application installed")
            return
        }
        if !app.crcOK {
            if defects.contains(.skipCRCCheck) { return executeCorrupt(app) }
            return enterSafeMode("the application fails its CRC")
        }
        if !defects.contains(.ignoreDependencies), let unmet = unmetDependency(of: app, in: installed) {
            return enterSafeMode("the application needs \(unmet)")
        }
        mode = .running
        runningApp = app
        appStartedAt = now
        log("Device OS: running the application (\(hex(app.storedCRC)))")
    }

    func unmetDependency(of module: InstalledModuleRecord, in installed: [InstalledModule]) -> ModuleDependency? {
        module.prefix.dependencies.first { required in
            !installed.contains { $0.function == required.function && $0.index == required.index && $0.version >= required.version }
        }
    }

    mutating func enterSafeMode(_ reason: String) {
        mode = .safeMode(reason: reason)
        log("Device OS: safe mode: \(reason)")
    }

    mutating func enterDFU(_ reason: String) {
        mode = .dfu
        log("bootloader: DFU mode: \(reason)")
    }

    mutating func executeCorrupt(_ module: InstalledModuleRecord) {
        mode = .running
        executingCorruptModule = module
        if module.function == .user { runningApp = module; appStartedAt = now }
        log("bootloader: jumping into \(module.function) \(module.index), whose CRC fails")
    }
}
