// The platform catalog: every platform otabench drives, in data, each value traced to
// ../shared/reference/particle-protocols.md (section numbers below). Values the reference
// marks UNCONFIRMED say so where they are used.

extension Platform {
    public static let catalog: [Platform] = gen2Platforms + nrf52840Platforms + rtl872xPlatforms

    /// Looks a platform up by build name (`boron`) or numeric id (`13`).
    public static func named(_ text: String) -> Platform? {
        if let byName = Platform(buildName: text) { return byName }
        if let number = UInt16(text) { return Platform(id: PlatformID(rawValue: number)) }
        return nil
    }

    // MARK: Gen 2, STM32F205 (§2.8, §2.9, §5.1, §9; facts from Device OS 1.2.1)

    private static let stm32InternalFlash = FlashRegion(
        name: "Internal Flash", base: 0x0800_0000,
        sectors: [SectorRun(4, 16 << 10), SectorRun(1, 64 << 10), SectorRun(7, 128 << 10)])

    private static let stm32AltSettings = [
        DFUAltSetting(alt: 0, memoryLayout: "@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg"),
        DFUAltSetting(alt: 1, memoryLayout: "@DCT Flash   /0x00000000/01*016Kg"),
    ]

    /// Gen 2 system parts and bootloaders sit behind the 0x184-byte STM32F2 vector table (§3.6).
    private static let stm32VectorTable = 0x184

    private static func photonSlots() -> [ModuleSlot] {
        [
            ModuleSlot(.bootloader, 0, start: 0x0800_0000, size: 16 << 10, prefixOffset: stm32VectorTable),
            ModuleSlot(.system, 1, start: 0x0802_0000, size: 256 << 10, prefixOffset: stm32VectorTable),
            ModuleSlot(.system, 2, start: 0x0806_0000, size: 256 << 10, prefixOffset: stm32VectorTable),
            ModuleSlot(.user, 1, start: 0x080A_0000, size: 128 << 10),
            // Monolithic images start where system part 1 does; the bootloader accepts an
            // application ending up to 0x08100000 (§5.2 item 10). Bounds inferred, see RC4_unlocker.bin.
            ModuleSlot(.mono, 0, start: 0x0802_0000, size: 0x0810_0000 - 0x0802_0000, prefixOffset: stm32VectorTable),
        ]
    }

    private static func gen2(
        _ id: PlatformID, _ buildName: String, _ displayName: String, usbName: String, slots: [ModuleSlot], stagingSize: Int,
        factoryAddress: UInt32, serialFlash: Bool = false
    ) -> Platform {
        var alts = stm32AltSettings
        var external: FlashRegion?
        if serialFlash {
            // HAS_SERIAL_FLASH: P1 only (§2.8).
            alts.append(DFUAltSetting(alt: 2, memoryLayout: "@Serial Flash   /0x00000000/256*004Kg"))
            external = FlashRegion(name: "Serial Flash", base: 0, sectors: [SectorRun(256, 4 << 10)])
        }
        return Platform(
            id: id, buildName: buildName, displayName: displayName, generation: .gen2, mcu: .stm32f2xx,
            // hal/src/photon|electron/usbd_desc_device.h and bootloader/src/stm32f2xx/usbd_desc.c@v2.3.1:41-49.
            usb: USBIdentity(platform: id, productName: usbName, dfuProductName: usbName + " DFU Mode"), dfuAltSettings: alts, internalFlash: stm32InternalFlash,
            externalFlash: external, slots: slots,
            staging: FlashArea(location: .internal, address: 0x080C_0000, size: stagingSize),
            factoryImage: FlashArea(location: .internal, address: factoryAddress, size: 128 << 10),
            maximumAppSize: 128 << 10, ncp: nil, discontinued: false)
    }

    static let gen2Platforms: [Platform] = [
        gen2(6, "photon", "Photon", usbName: "Photon", slots: photonSlots(), stagingSize: 256 << 10, factoryAddress: 0x080E_0000),
        gen2(8, "p1", "P1", usbName: "P1", slots: photonSlots(), stagingSize: 256 << 10, factoryAddress: 0x080E_0000, serialFlash: true),
        gen2(10, "electron", "Electron / E Series", usbName: "Electron", slots: [
            ModuleSlot(.bootloader, 0, start: 0x0800_0000, size: 16 << 10, prefixOffset: stm32VectorTable),
            ModuleSlot(.system, 1, start: 0x0802_0000, size: 128 << 10, prefixOffset: stm32VectorTable),
            ModuleSlot(.system, 2, start: 0x0804_0000, size: 128 << 10, prefixOffset: stm32VectorTable),
            ModuleSlot(.system, 3, start: 0x0806_0000, size: 128 << 10, prefixOffset: stm32VectorTable),
            ModuleSlot(.user, 1, start: 0x0808_0000, size: 128 << 10),
        ], stagingSize: 128 << 10, factoryAddress: 0x080A_0000),
    ]

    // MARK: Gen 3, nRF52840 (§2.8, §2.9, §3.6, §5.1, §9)

    private static let nrfInternalFlash = FlashRegion(name: "Internal Flash", base: 0, sectors: [SectorRun(256, 4 << 10)])
    /// Gen 3 system parts and bootloaders sit behind the 512-byte nRF52840 vector table (§3.6).
    private static let nrfVectorTable = 0x200
    /// The ESP32 network coprocessor of the Argon and the Tracker; the Argon NCP fixture carries 0x21.
    private static let esp32 = NetworkCoprocessor(name: "ESP32", mcuTarget: 0x21)

    private enum QSPI {
        /// MX25L3233F: Argon, Boron, B SoM, A SoM (and, UNCONFIRMED, Xenon and X SoM).
        case fourMegabytes
        /// MX25R6435F or GD25WQ64E: Tracker, B5 SoM, E SoM X.
        case eightMegabytes
    }

    private static func nrf52840(
        _ id: PlatformID, _ buildName: String, _ displayName: String, usbName: String, bootloaderUSBName: String? = nil, flash: QSPI,
        ncp: NetworkCoprocessor? = nil, discontinued: Bool = false
    ) -> Platform {
        let pages = flash == .fourMegabytes ? 1024 : 2048
        var slots = [
            ModuleSlot(.radio, 0, start: 0x0000_1000, size: 0x0002_7000 - 0x0000_1000),
            // Current Device OS puts system part 1 at 0x28000; releases up to 5.x at 0x30000 (§2.9).
            ModuleSlot(.system, 1, start: 0x0002_8000, size: 0x000B_4000 - 0x0002_8000, prefixOffset: nrfVectorTable,
                       placement: .anywhere, legacyStarts: [0x0003_0000]),
            ModuleSlot(.user, 2, start: 0x000B_4000, size: 256 << 10),
            ModuleSlot(.user, 1, start: 0x000D_4000, size: 128 << 10),
            ModuleSlot(.bootloader, 0, start: 0x000F_4000, size: 48 << 10, prefixOffset: nrfVectorTable),
        ]
        if ncp != nil {
            // NCP modules go to the coprocessor, not to MCU flash; their size bound is UNCONFIRMED.
            slots.append(ModuleSlot(.ncp, 0, start: 0, size: 1536 << 10, location: .coprocessor))
        }
        let staging = flash == .fourMegabytes
            ? FlashArea(location: .external, address: 0x0024_C000, size: 1500 << 10, safeSize: 606_208)
            : FlashArea(location: .external, address: 0x0068_9000, size: 1500 << 10)
        return Platform(
            id: id, buildName: buildName, displayName: displayName, generation: .gen3, mcu: .nrf52840,
            // hal/src/<platform>/app_usbd_string_config.h@v5.8.0 and bootloader/src/nRF52840/usbd_device.cpp@v5.8.0:140-155.
            usb: USBIdentity(platform: id, productName: usbName + " CDC Mode", dfuProductName: (bootloaderUSBName ?? usbName) + " DFU Mode"),
            dfuAltSettings: [
                DFUAltSetting(alt: 0, memoryLayout: "@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka"),
                DFUAltSetting(alt: 1, memoryLayout: "@DCT Flash   /0x00000000/1*016Ke"),
                // External flash is exposed at the fake base 0x80000000.
                DFUAltSetting(alt: 2, memoryLayout: "@External Flash   /0x80000000/\(pages)*004Kg"),
            ],
            internalFlash: nrfInternalFlash,
            externalFlash: FlashRegion(name: "External Flash", base: 0, sectors: [SectorRun(pages, 4 << 10)]),
            slots: slots, staging: staging,
            // The factory-reset image sits in external flash, 256 KB (§5.1).
            factoryImage: FlashArea(location: .external, address: flash == .fourMegabytes ? 0x0020_0000 : 0x0060_0000, size: 256 << 10),
            maximumAppSize: 256 << 10, ncp: ncp, discontinued: discontinued)
    }

    // Xenon and X SoM left Device OS before 5.x; their USB names follow the others' pattern (inferred).
    static let nrf52840Platforms: [Platform] = [
        nrf52840(12, "argon", "Argon", usbName: "Argon", flash: .fourMegabytes, ncp: esp32),
        nrf52840(13, "boron", "Boron", usbName: "Boron", flash: .fourMegabytes),
        nrf52840(14, "xenon", "Xenon", usbName: "Xenon", flash: .fourMegabytes, discontinued: true),
        nrf52840(15, "esomx", "E SoM X", usbName: "E-SoM-X", flash: .eightMegabytes),
        nrf52840(22, "asom", "A SoM", usbName: "A SoM", bootloaderUSBName: "A-SoM", flash: .fourMegabytes),
        nrf52840(23, "bsom", "B SoM", usbName: "B-SoM", flash: .fourMegabytes),
        nrf52840(24, "xsom", "X SoM", usbName: "X-SoM", flash: .fourMegabytes, discontinued: true),
        nrf52840(25, "b5som", "B5 SoM", usbName: "B5-SoM", flash: .eightMegabytes),
        nrf52840(26, "tracker", "Tracker", usbName: "Tracker", flash: .eightMegabytes, ncp: esp32),
    ]

    // MARK: RTL872x (§2.8, §2.9, §3.6, §5.1, §5.3, §9)

    /// RTL872x bootloaders sit behind the 32-byte Realtek XIP image header (§3.6).
    private static let realtekImageHeader = 0x20

    private static func rtl872x(_ id: PlatformID, _ buildName: String, _ displayName: String, usbName: String) -> Platform {
        Platform(
            id: id, buildName: buildName, displayName: displayName, generation: .gen3, mcu: .rtl872x,
            // HAL_PLATFORM_USB_PRODUCT_STRING, hal/src/<platform>/hal_platform_config.h@v5.8.0 (tron:31-35).
            usb: USBIdentity(platform: id, productName: usbName, dfuProductName: usbName + " DFU Mode"),
            dfuAltSettings: [
                DFUAltSetting(alt: 0, memoryLayout: "@Internal Flash   /0x08000000/2048*004Kg"),
                DFUAltSetting(alt: 1, memoryLayout: "@DCT Flash   /0x00000000/1*016Ke"),
            ],
            internalFlash: FlashRegion(name: "Internal Flash", base: 0x0800_0000, sectors: [SectorRun(2048, 4 << 10)]),
            externalFlash: nil,
            slots: [
                // KM0 MBR (bootloader 1) and KM0 part 1 (bootloader 2); the part 1 size is UNCONFIRMED
                // (taken as the room up to system part 1).
                ModuleSlot(.bootloader, 1, start: 0x0800_0000, size: 16 << 10, prefixOffset: realtekImageHeader),
                ModuleSlot(.bootloader, 0, start: 0x0800_4000, size: 64 << 10, prefixOffset: realtekImageHeader),
                ModuleSlot(.bootloader, 2, start: 0x0801_4000, size: 0x0806_0000 - 0x0801_4000, prefixOffset: realtekImageHeader),
                ModuleSlot(.system, 1, start: 0x0806_0000, size: 1536 << 10),
                // The user part ends at 0x08600000 and starts wherever its size puts it.
                ModuleSlot(.user, 1, start: 0x0860_0000 - (1536 << 10), size: 1536 << 10, placement: .atEnd),
            ],
            // Nominal; at run time it ends where the installed user part starts (§5.1).
            staging: FlashArea(location: .internal, address: 0x0836_0000, size: 1536 << 10),
            factoryImage: nil,
            maximumAppSize: 1536 << 10, ncp: nil, discontinued: false)
    }

    static let rtl872xPlatforms: [Platform] = [
        rtl872x(28, "trackerm", "Tracker M", usbName: "TrackerM"),
        rtl872x(32, "p2", "P2 / Photon 2", usbName: "P2"),
        rtl872x(35, "msom", "M SoM", usbName: "M-SoM"),
    ]
}
