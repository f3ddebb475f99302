/// A Particle platform otabench can drive: identity, USB ids, DFU memory layouts, flash
/// geometry, module slots and OTA staging. The values live in `Platform.catalog`.
public struct Platform: Hashable, Sendable, Identifiable {
    public var id: PlatformID
    /// Particle's build name (`PLATFORM=` in device-os), used on the command line.
    public var buildName: String
    public var displayName: String
    public var generation: Generation
    public var mcu: MCUFamily
    public var usb: USBIdentity
    /// DfuSe alternate settings with their exact interface strings (§2.8).
    public var dfuAltSettings: [DFUAltSetting]
    public var internalFlash: FlashRegion
    public var externalFlash: FlashRegion?
    /// Where each kind of module lives (§2.9, §3.2).
    public var slots: [ModuleSlot]
    /// Where an OTA image is downloaded before it is applied (§5.1).
    public var staging: FlashArea
    /// Where the factory-reset image is kept (§2.9, §5.1).
    public var factoryImage: FlashArea?
    /// The largest user application the platform runs (§5.3).
    public var maximumAppSize: Int
    /// The updatable network coprocessor, if any: NCP modules must carry its MCU target (§4).
    public var ncp: NetworkCoprocessor?
    /// Set for platforms Particle has discontinued.
    public var discontinued: Bool

    init(
        id: PlatformID, buildName: String, displayName: String, generation: Generation, mcu: MCUFamily,
        usb: USBIdentity, dfuAltSettings: [DFUAltSetting], internalFlash: FlashRegion, externalFlash: FlashRegion?,
        slots: [ModuleSlot], staging: FlashArea, factoryImage: FlashArea?, maximumAppSize: Int,
        ncp: NetworkCoprocessor?, discontinued: Bool
    ) {
        self.id = id
        self.buildName = buildName
        self.displayName = displayName
        self.generation = generation
        self.mcu = mcu
        self.usb = usb
        self.dfuAltSettings = dfuAltSettings
        self.internalFlash = internalFlash
        self.externalFlash = externalFlash
        self.slots = slots
        self.staging = staging
        self.factoryImage = factoryImage
        self.maximumAppSize = maximumAppSize
        self.ncp = ncp
        self.discontinued = discontinued
    }

    public init?(id: PlatformID) {
        guard let platform = Self.catalog.first(where: { $0.id == id }) else { return nil }
        self = platform
    }

    public init?(buildName: String) {
        let name = buildName.lowercased()
        guard let platform = Self.catalog.first(where: { $0.buildName == name }) else { return nil }
        self = platform
    }

    /// Whether the platform has a cellular modem: Device OS then adds `imei`, `iccid` (and from
    /// 2.1.0 `cellfw`) to its system info, which listening mode's `i` prints
    /// (hal/src/{electron,boron,b5som,tracker,trackerm,msom}/ota_flash_hal.cpp
    /// HAL_OTA_Add_System_Info; Boron's covers B SoM and E SoM X). Wi-Fi-only and mesh-only
    /// platforms add nothing.
    public var cellular: Bool { [10, 13, 15, 23, 25, 26, 28, 35].contains(id.rawValue) }

    /// The slot a module with this function and index goes to; nil when the platform has none.
    public func slot(for function: ModuleFunction, index: UInt8) -> ModuleSlot? {
        slots.first { $0.function == function && $0.index == index }
    }

    /// Where the prefix sits in a module of this function (§3.6).
    public func prefixOffset(for function: ModuleFunction, index: UInt8 = 0) -> Int {
        slot(for: function, index: index)?.prefixOffset
            ?? slots.first(where: { $0.function == function })?.prefixOffset
            ?? 0
    }
}

/// Particle's generations as the sources use them; RTL872x boards ("Gen 4" in marketing)
/// are Gen 3 in the code and behave as their MCU family says.
public enum Generation: Int, Hashable, Sendable, Comparable, CustomStringConvertible {
    case gen2 = 2
    case gen3 = 3

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "Gen \(rawValue)" }
}

public enum MCUFamily: String, Hashable, Sendable, CustomStringConvertible {
    case stm32f2xx = "STM32F2xx"
    case nrf52840 = "nRF52840"
    case rtl872x = "RTL872x"

    public var description: String { rawValue }
}

/// USB vendor and product ids: normal mode 0xC000 + id, DFU 0xD000 + id (§1.2).
public struct USBIdentity: Hashable, Sendable {
    public static let particleVendorID: UInt16 = 0x2B04

    public var vendorID: UInt16
    public var normalProductID: UInt16
    public var dfuProductID: UInt16
    /// The product string Device OS presents in normal mode ("Boron CDC Mode", "P2", "Photon"):
    /// not the display name, which lsusb and particle-usb never see.
    public var productName: String
    /// The bootloader's product string ("Boron DFU Mode"); Gen 3's spells some names
    /// differently from Device OS ("A-SoM DFU Mode" against "A SoM CDC Mode").
    public var dfuProductName: String

    public init(platform id: PlatformID, productName: String, dfuProductName: String) {
        vendorID = Self.particleVendorID
        normalProductID = 0xC000 + id.rawValue
        dfuProductID = 0xD000 + id.rawValue
        self.productName = productName
        self.dfuProductName = dfuProductName
    }
}

public struct DFUAltSetting: Hashable, Sendable {
    public var alt: UInt8
    /// The DfuSe memory-layout string, exactly as the bootloader reports it.
    public var memoryLayout: String
}

/// A run of equal sectors in a flash map.
public struct SectorRun: Hashable, Sendable {
    public var count: Int
    public var size: Int

    public init(_ count: Int, _ size: Int) {
        self.count = count
        self.size = size
    }
}

public struct FlashRegion: Hashable, Sendable {
    public var name: String
    /// Where the region starts in the device's address space (external flash: its own address space).
    public var base: UInt32
    /// Erase sectors from `base` upwards.
    public var sectors: [SectorRun]

    public var size: Int { sectors.reduce(0) { $0 + $1.count * $1.size } }
    public var end: UInt64 { UInt64(base) + UInt64(size) }

    public func contains(_ address: UInt32, length: Int = 1) -> Bool {
        UInt64(address) >= UInt64(base) && UInt64(address) + UInt64(max(length, 0)) <= end
    }
}

public enum FlashLocation: String, Hashable, Sendable {
    case `internal`
    case external
    /// Not in the MCU's flash: the network coprocessor's own.
    case coprocessor
}

/// Where one kind of module lives (module bounds in device-os' ota_module_bounds.c).
public struct ModuleSlot: Hashable, Sendable {
    public enum Placement: Hashable, Sendable {
        /// The module starts at `start`.
        case atStart
        /// The module ends at `start + size`, wherever that makes it start (RTL872x user part).
        case atEnd
        /// The module may start anywhere in the slot (a Gen 3 system part starts at 0x28000
        /// in current Device OS and at 0x30000 in older releases).
        case anywhere
    }

    public var function: ModuleFunction
    public var index: UInt8
    public var start: UInt32
    /// The largest module the slot holds, CRC included.
    public var size: Int
    public var location: FlashLocation
    public var prefixOffset: Int
    public var placement: Placement
    /// Other starts Device OS has used for this slot (`.anywhere` only).
    public var legacyStarts: [UInt32]

    public init(_ function: ModuleFunction, _ index: UInt8, start: UInt32, size: Int, location: FlashLocation = .internal,
                prefixOffset: Int = 0, placement: Placement = .atStart, legacyStarts: [UInt32] = []) {
        self.function = function
        self.index = index
        self.start = start
        self.size = size
        self.location = location
        self.prefixOffset = prefixOffset
        self.placement = placement
        self.legacyStarts = legacyStarts
    }

    public var end: UInt64 { UInt64(start) + UInt64(size) }

    /// The start address a module of `moduleSize` bytes gets in this slot.
    public func startAddress(forModuleOfSize moduleSize: Int) -> UInt32 {
        switch placement {
        case .atStart, .anywhere: start
        case .atEnd: UInt32(truncatingIfNeeded: end - UInt64(moduleSize))
        }
    }
}

/// A fixed area of flash: the OTA staging region, the factory image.
public struct FlashArea: Hashable, Sendable {
    public var location: FlashLocation
    public var address: UInt32
    public var size: Int
    /// Gen 3 4 MB parts: the staging region overlaps the asset file system; this much is always free.
    public var safeSize: Int?

    public init(location: FlashLocation, address: UInt32, size: Int, safeSize: Int? = nil) {
        self.location = location
        self.address = address
        self.size = size
        self.safeSize = safeSize
    }
}

public struct NetworkCoprocessor: Hashable, Sendable {
    public var name: String
    /// The MCU target an NCP module must carry in its prefix's reserved byte.
    public var mcuTarget: UInt8
}
