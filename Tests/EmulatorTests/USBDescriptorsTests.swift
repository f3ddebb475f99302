import Emulator
import Firmware
import Testing

/// The descriptors byte for byte as Device OS and its bootloaders send them (the bytes of
/// /tmp research, from hal/src/nRF52840/usb_hal_cdc.c, hal/src/rtl872x/usbd_*.cpp,
/// bootloader/src/*/usbd_dfu.h at v5.8.0, and SPARK_Firmware_Driver at v2.3.1).
@Suite("USB descriptors per family (Device OS 5.8, Gen 2 at 2.x)")
struct USBDescriptorsTests {
    static func descriptors(_ name: String, _ mode: EmulatedMode) -> USBDescriptors {
        USBDescriptors(platform: Platform(buildName: name)!, mode: mode, deviceID: "e00fce68000d000000000011")
    }

    static func hex(_ text: String) -> [UInt8] {
        text.split(separator: " ").map { UInt8($0, radix: 16)! }
    }

    @Test("nRF52840 normal mode: class EF/02/01, bcdDevice 1.02, IAD, CDC with its functional descriptors, control interface")
    func nrfNormal() {
        let boron = Self.descriptors("boron", .running)
        #expect(boron.device == Self.hex("12 01 00 02 EF 02 01 40 04 2B 0D C0 02 01 01 02 03 01"))
        #expect(boron.configuration == Self.hex("""
            09 02 54 00 03 01 00 C0 FA 08 0B 00 02 02 02 01 00 09 04 00 00 01 02 02 01 00 05 24 00 10 01 05 24 01 03 01 04 24 02 02 \
            05 24 06 00 01 07 05 82 03 40 00 10 09 04 01 00 02 0A 00 00 00 07 05 81 02 40 00 00 07 05 01 02 40 00 00 \
            09 04 02 00 00 FF FF FF 05
            """))
        #expect(boron.strings[2] == "Boron CDC Mode")
        #expect(boron.strings[5] == "Boron Control Interface")
        #expect(boron.console == .init(dataIn: 0x81, dataOut: 0x01, notification: 0x82))
        #expect(Self.descriptors("asom", .running).strings[2] == "A SoM CDC Mode")
        #expect(Self.descriptors("esomx", .running).strings[2] == "E-SoM-X CDC Mode")
    }

    @Test("RTL872x normal mode: bcdDevice 2.51, control interface first, CDC on 1 and 2, console on OUT 0x02 / IN 0x83")
    func rtlNormal() {
        let p2 = Self.descriptors("p2", .running)
        #expect(p2.device == Self.hex("12 01 00 02 EF 02 01 40 04 2B 20 C0 51 02 01 02 03 01"))
        #expect(p2.configuration == Self.hex("""
            09 02 54 00 03 01 04 80 FA 09 04 00 00 00 FF FF FF 05 08 0B 01 02 02 02 01 06 09 04 01 00 01 02 02 01 06 \
            05 24 00 10 01 05 24 01 00 02 04 24 02 02 05 24 06 01 02 07 05 81 03 08 00 10 09 04 02 00 02 0A 00 00 06 \
            07 05 02 02 40 00 10 07 05 83 02 40 00 10
            """))
        #expect(p2.strings[2] == "P2" && p2.strings[4] == "P2" && p2.strings[5] == "P2 Control Interface" && p2.strings[6] == "P2 USB Serial")
        #expect(p2.console == .init(dataIn: 0x83, dataOut: 0x02, notification: 0x81))
        #expect(Self.descriptors("msom", .running).strings[2] == "M-SoM")
    }

    @Test("Gen 2 normal mode: bcdDevice 2.50, bus powered 100 mA, Composite, EP3 on the Photon, dummy EP10 on the Electron")
    func gen2Normal() {
        let photon = Self.descriptors("photon", .running)
        #expect(photon.device == Self.hex("12 01 00 02 EF 02 01 40 04 2B 06 C0 50 02 01 02 03 01"))
        #expect(Array(photon.configuration.prefix(9)) == Self.hex("09 02 54 00 03 01 04 80 32"))
        #expect(photon.strings[2] == "Photon" && photon.strings[4] == "Composite" && photon.strings[9] == "Photon Control Interface")
        #expect(photon.console?.notification == 0x83)
        #expect(Self.descriptors("electron", .running).console?.notification == 0x8A)
        #expect(Self.descriptors("electron", .running).strings[2] == "Electron")
    }

    @Test("DFU mode: class 0, bcdDevice per bootloader, iConfiguration and the memory strings where each bootloader puts them")
    func dfu() {
        let boron = Self.descriptors("boron", .dfu)
        #expect(boron.device == Self.hex("12 01 00 02 00 00 00 40 04 2B 0D D0 51 02 01 02 03 01"))
        #expect(Array(boron.configuration.prefix(9)) == Self.hex("09 02 2D 00 01 01 04 C0 32"))
        #expect(Array(boron.configuration[9..<18]) == Self.hex("09 04 00 00 00 FE 01 02 06"))
        #expect(boron.strings[2] == "Boron DFU Mode" && boron.strings[4] == "Boron DFU Mode")
        #expect(boron.strings[6]?.hasPrefix("@Internal Flash") == true && boron.strings[8]?.hasPrefix("@External Flash") == true)
        #expect(boron.descriptor(type: 0x21, index: 0) == Self.hex("09 21 0B FF 00 00 10 1A 01"))
        #expect(Self.descriptors("boron", .running).descriptor(type: 0x21, index: 0) == nil)
        #expect(Self.descriptors("asom", .dfu).strings[2] == "A-SoM DFU Mode")
        let p2 = Self.descriptors("p2", .dfu)
        #expect(Array(p2.device[12...13]) == [0x52, 0x02])
        #expect(p2.configuration[9 + 8] == 5 && p2.strings[5]?.hasPrefix("@Internal Flash") == true)
        let photon = Self.descriptors("photon", .dfu)
        #expect(Array(photon.device[12...13]) == [0x50, 0x02])
        #expect(photon.configuration[6] == 2 && photon.configuration[9 + 8] == 6 && photon.strings[4] == "DFU")
        #expect(photon.strings[2] == "Photon DFU Mode")
    }

    @Test("Strings: language, serial in lower case, the Microsoft OS string; unknown indices stall")
    func strings() {
        let boron = Self.descriptors("boron", .running)
        #expect(boron.descriptor(type: 3, index: 0) == [4, 3, 0x09, 0x04])
        #expect(boron.descriptor(type: 3, index: 0xEE) == Self.hex("12 03 4D 00 53 00 46 00 54 00 31 00 30 00 30 00 EE 00"))
        #expect(boron.descriptor(type: 3, index: 3).map { Array($0.dropFirst(2)) } == Array("e00fce68000d000000000011".utf16).flatMap { [UInt8($0), 0] })
        #expect(boron.descriptor(type: 3, index: 0x42) == nil)
    }
}
