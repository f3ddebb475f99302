/// The part of the device configuration table (DCT) the update path uses: module slot
/// records that tell the bootloader what to copy at the next boot (§5.2 step 4), and the
/// flags that survive a reset.
///
/// The DCT layer of Device OS writes through double-buffered pages, so the emulator treats
/// each DCT write as atomic: a power cut before it or during it leaves the old record.
public struct DeviceConfiguration: Hashable, Sendable {
    /// FLASH_AddToNextAvailableModulesSlot's table; slot 0 is reserved for the factory image.
    public static let slotCount = 8

    public var moduleSlots: [ModuleSlotRecord?] = Array(repeating: nil, count: slotCount)
    /// Set by DFU's ENTER_SAFE_MODE or a safe-mode request: boot into safe mode once.
    public var safeModeRequested = false
    /// SYSTEM_FLAG_STARTUP_LISTEN_MODE (`L` in listening mode).
    public var startupListenMode = false
    /// Gen 2 `Factory_Reset_SysFlag` (0xAAAA): the bootloader restores the factory app.
    public var factoryResetRequested = false
    /// The 16 KB the DFU "DCT Flash" alt setting reads and writes. A plain store: the
    /// structured fields above are not mapped into it.
    public var raw = [UInt8](repeating: 0xFF, count: 16 << 10)

    public init() {}

    public var queuedSlots: [(index: Int, record: ModuleSlotRecord)] {
        moduleSlots.enumerated().compactMap { index, record in
            guard index > 0, let record else { return nil }
            return (index, record)
        }
    }
}

/// A queued copy: what the bootloader moves where (FLASH_AddToNextAvailableModulesSlot).
public struct ModuleSlotRecord: Hashable, Sendable {
    public var sourceDevice: FlashDevice
    public var sourceAddress: UInt32
    public var destination: UInt32
    /// Module size plus the 4-byte CRC.
    public var length: Int
    public var function: UInt8
    /// DROP_MODULE_INFO and COMPRESSED, copied from the module's flags.
    public var dropModuleInfo: Bool
    public var compressed: Bool
}
