import Firmware
import Testing

extension Platform: CustomTestStringConvertible {
    public var testDescription: String { buildName }
}

@Suite("Platform catalog", .timeLimit(.minutes(10)))
struct PlatformCatalogTests {
    /// Build name → platform id, as reference §1.2 lists them.
    static let expectedIDs: [String: UInt16] = [
        "photon": 6, "p1": 8, "electron": 10, "argon": 12, "boron": 13, "xenon": 14, "esomx": 15, "asom": 22,
        "bsom": 23, "xsom": 24, "b5som": 25, "tracker": 26, "trackerm": 28, "p2": 32, "msom": 35,
    ]

    @Test("Every platform Particle builds for is in the catalog under its build name and id")
    func everyPlatform() {
        #expect(Set(Platform.catalog.map(\.buildName)) == Set(Self.expectedIDs.keys))
        for (name, id) in Self.expectedIDs {
            #expect(Platform(buildName: name)?.id.rawValue == id)
            #expect(Platform.named(String(id))?.buildName == name)
        }
        #expect(Platform.named("BORON")?.id == 13)
        #expect(Platform.named("nope") == nil)
    }

    @Test("USB ids follow 0xC000 + id and 0xD000 + id under vendor 0x2B04", arguments: Platform.catalog)
    func usbIDs(_ platform: Platform) {
        #expect(platform.usb.vendorID == 0x2B04)
        #expect(platform.usb.normalProductID == 0xC000 + platform.id.rawValue)
        #expect(platform.usb.dfuProductID == 0xD000 + platform.id.rawValue)
    }

    @Test("DfuSe layout strings describe the catalog's flash geometry", arguments: Platform.catalog)
    func layoutsMatchGeometry(_ platform: Platform) throws {
        let internalLayout = try #require(DfuSeMemoryLayout(platform.dfuAltSettings[0].memoryLayout))
        #expect(internalLayout.name == "Internal Flash")
        #expect(internalLayout.base == platform.internalFlash.base)
        #expect(internalLayout.size == platform.internalFlash.size)
        #expect(DfuSeMemoryLayout(platform.dfuAltSettings[1].memoryLayout)?.name == "DCT Flash")
        #expect(DfuSeMemoryLayout(platform.dfuAltSettings[1].memoryLayout)?.size == 16 << 10)
        if let external = platform.externalFlash {
            let last = try #require(platform.dfuAltSettings.last)
            let layout = try #require(DfuSeMemoryLayout(last.memoryLayout))
            #expect(layout.size == external.size)
        } else {
            #expect(platform.dfuAltSettings.count == 2)
        }
        // Exact strings, three spaces before the slash (§2.8).
        #expect(platform.dfuAltSettings.allSatisfy { $0.memoryLayout.contains("   /0x") })
    }

    @Test("Module slots lie in their flash, and only deliberate ones overlap", arguments: Platform.catalog)
    func slotsFitFlash(_ platform: Platform) {
        let internalSlots = platform.slots.filter { $0.location == .internal }
        for slot in internalSlots {
            #expect(platform.internalFlash.contains(slot.start, length: slot.size), "\(slot.function) \(slot.index)")
        }
        // Deliberate overlaps: a Gen 2 monolithic image replaces the system parts; the Gen 3
        // 256 KB app slot contains the legacy 128 KB one (§2.6, the compat-slot erase).
        func deliberate(_ a: ModuleSlot, _ b: ModuleSlot) -> Bool {
            a.function == .mono || b.function == .mono || (a.function == .user && b.function == .user)
        }
        for (position, slot) in internalSlots.enumerated() {
            for other in internalSlots[(position + 1)...] where !deliberate(slot, other) {
                let overlap = UInt64(slot.start) < other.end && UInt64(other.start) < slot.end
                #expect(!overlap, "\(slot.function) \(slot.index) overlaps \(other.function) \(other.index)")
            }
        }
        let stagingFlash = platform.staging.location == .internal ? platform.internalFlash : platform.externalFlash
        #expect(stagingFlash?.contains(platform.staging.address, length: platform.staging.size) == true)
    }

    @Test("DfuSe layout strings decode access letters and sector runs")
    func dfuSeLayout() throws {
        let gen2 = try #require(DfuSeMemoryLayout("@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg"))
        #expect(gen2.segments.map(\.count) == [3, 1, 1, 7])
        #expect(gen2.segments[0].readable && !gen2.segments[0].erasable && !gen2.segments[0].writable)
        #expect(gen2.segments[1].readable && gen2.segments[1].erasable && gen2.segments[1].writable)
        #expect(gen2.sector(containing: 0x0800_C001)! == (0x0800_C000, 16 << 10))
        #expect(gen2.sector(containing: 0x080A_0004)! == (0x080A_0000, 128 << 10))
        #expect(DfuSeMemoryLayout("@DCT Flash   /0x00000000/1*016Ke")?.segments.first?.erasable == false)
        for bad in ["Internal Flash/0x0/1*4Kg", "@X/0x0/", "@X/0x0/1*4Kz", "@X/zz/1*4Kg", "@X/0x0/0*4Kg"] {
            #expect(DfuSeMemoryLayout(bad) == nil, "\(bad)")
        }
    }

    @Test("Prefix offsets per generation follow §3.6")
    func prefixOffsets() {
        for platform in Platform.catalog {
            #expect(platform.prefixOffset(for: .user, index: 1) == 0)
            switch platform.mcu {
            case .stm32f2xx:
                #expect(platform.prefixOffset(for: .system, index: 1) == 0x184)
                #expect(platform.prefixOffset(for: .bootloader) == 0x184)
            case .nrf52840:
                #expect(platform.prefixOffset(for: .system, index: 1) == 0x200)
                #expect(platform.prefixOffset(for: .bootloader) == 0x200)
                #expect(platform.prefixOffset(for: .radio) == 0)
            case .rtl872x:
                #expect(platform.prefixOffset(for: .system, index: 1) == 0)
                #expect(platform.prefixOffset(for: .bootloader) == 0x20)
            }
        }
    }

    @Test("Generations, staging and app sizes follow §5.1 and §5.3")
    func generations() {
        for platform in Platform.catalog {
            switch platform.mcu {
            case .stm32f2xx:
                #expect(platform.generation == .gen2)
                #expect(platform.staging.location == .internal)
                #expect(platform.staging.address == 0x080C_0000)
                #expect(platform.staging.size == (platform.id == 10 ? 128 << 10 : 256 << 10))
                #expect(platform.maximumAppSize == 128 << 10)
            case .nrf52840:
                #expect(platform.generation == .gen3)
                #expect(platform.staging.location == .external)
                #expect(platform.maximumAppSize == 256 << 10)
            case .rtl872x:
                #expect(platform.staging.location == .internal)
                #expect(platform.maximumAppSize == 1536 << 10)
            }
        }
        #expect(Platform(buildName: "p1")?.externalFlash?.size == 1 << 20)
        #expect(Platform(buildName: "photon")?.externalFlash == nil)
        #expect(Platform(buildName: "tracker")?.externalFlash?.size == 8 << 20)
        #expect(Platform(buildName: "boron")?.staging.address == 0x0024_C000)
    }
}
