import Firmware
import Links

/// The USB descriptors an emulated board presents, byte for byte as Device OS 5.8 and its
/// bootloader present them per MCU family (Gen 2 as Device OS 2.x/3.x, its last releases):
/// a DFU interface with one alternate setting per memory in DFU mode (§2.1, §2.8); in normal
/// mode a CDC ACM serial port behind an interface association and Particle's vendor control
/// interface. Sources, at Device OS v5.8.0 unless named: nRF52840 hal/src/nRF52840/usb_hal_cdc.c,
/// usb_hal_control.cpp and nrf5_sdk app_usbd_cdc_acm.c; RTL872x hal/src/rtl872x/usbd_device.cpp,
/// usbd_cdc.cpp, usbd_control.cpp; bootloaders bootloader/src/<mcu>/usbd_device.cpp and usbd_dfu.h;
/// Gen 2 (v2.3.1) SPARK_Firmware_Driver usbd_mcdc.c, usbd_composite.c and usbd_dfu_core.c.
public struct USBDescriptors: Sendable {
    public var device: [UInt8]
    public var configuration: [UInt8]
    /// String descriptors by index (1 manufacturer, 2 product, 3 serial, then configuration,
    /// interface and DFU memory strings at the indices each family uses).
    public var strings: [UInt8: String]
    /// Where the serial console's bytes go, in normal mode.
    public var console: ConsoleEndpoints?

    /// The CDC endpoints: data IN (what the board prints), data OUT (what the host types) and
    /// the notification endpoint, which never has anything to say.
    public struct ConsoleEndpoints: Hashable, Sendable {
        public var dataIn: UInt8
        public var dataOut: UInt8
        public var notification: UInt8

        public init(dataIn: UInt8, dataOut: UInt8, notification: UInt8) {
            self.dataIn = dataIn
            self.dataOut = dataOut
            self.notification = notification
        }
    }

    public init(platform: Platform, mode: EmulatedMode, deviceID: String) {
        let dfu = mode == .dfu
        let product = mode.productID(platform) ?? platform.usb.normalProductID
        let bcdDevice: UInt16 = switch (platform.mcu, dfu) {
        case (.nrf52840, false): 0x0102  // APP_USBD_BCD_VER_MAKE(1, 2), sdk_config_system.h:130-148
        case (.nrf52840, true), (.rtl872x, false): 0x0251
        case (.rtl872x, true): 0x0252
        case (.stm32f2xx, _): 0x0250
        }
        let deviceClass: [UInt8] = dfu ? [0, 0, 0] : [0xEF, 0x02, 0x01]  // DFU: per interface; normal: IAD
        device = [18, 1, 0x00, 0x02] + deviceClass + [64,
                  UInt8(platform.usb.vendorID & 0xFF), UInt8(platform.usb.vendorID >> 8), UInt8(product & 0xFF), UInt8(product >> 8),
                  UInt8(bcdDevice & 0xFF), UInt8(bcdDevice >> 8), 1, 2, 3, 1]
        // Serials are the device id in lower case (bytes2hexbuf_lower_case).
        var strings: [UInt8: String] = [1: "Particle", 3: deviceID.lowercased()]
        if dfu {
            let name = platform.usb.dfuProductName
            strings[2] = name
            // iConfiguration and the first alternate setting's string index.
            let (configurationString, firstAltString): (UInt8, UInt8) = switch platform.mcu {
            case .nrf52840: (4, 6)  // strings 4 and 5 repeat the product; usbd_dfu.h:45-91
            case .rtl872x: (4, 5)  // STRING_IDX_CONFIG 4, STRING_IDX_INTERFACE 5 + alt
            case .stm32f2xx: (2, 6)  // usbd_dfu_core.c: iConfiguration 2; strings 4, 5 "DFU"
            }
            switch platform.mcu {
            case .nrf52840: strings[4] = name; strings[5] = name
            case .rtl872x: strings[4] = name
            case .stm32f2xx: strings[4] = "DFU"; strings[5] = "DFU"
            }
            var interfaces: [UInt8] = []
            for (position, alt) in platform.dfuAltSettings.enumerated() {
                let index = firstAltString + UInt8(position)
                strings[index] = alt.memoryLayout
                interfaces += [9, 4, 0, alt.alt, 0, 0xFE, 0x01, 0x02, index]
            }
            interfaces += Self.dfuFunctional
            let total = 9 + interfaces.count
            // Bus powered with remote wakeup, 100 mA, in every bootloader.
            configuration = [9, 2, UInt8(total & 0xFF), UInt8(total >> 8), 1, 1, configurationString, 0xC0, 0x32] + interfaces
            console = nil
        } else {
            strings[2] = platform.usb.productName
            let layout = Self.normalMode(platform, strings: &strings)
            configuration = layout.configuration
            console = layout.console
        }
        self.strings = strings
    }

    /// DFU functional descriptor: will-detach, manifestation tolerant, can upload and download;
    /// detach 255 ms; wTransferSize 4096; DfuSe 1.1a.
    static let dfuFunctional: [UInt8] = [9, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x10, 0x1A, 0x01]

    /// The CDC ACM functional descriptors every family sends: header (CDC 1.10), call management,
    /// ACM (line coding and serial state), union.
    private static func cdcFunctional(callManagement: UInt8, control: UInt8, data: UInt8) -> [UInt8] {
        [5, 0x24, 0x00, 0x10, 0x01,
         5, 0x24, 0x01, callManagement, data,
         4, 0x24, 0x02, 0x02,
         5, 0x24, 0x06, control, data]
    }

    private static func interface(_ number: UInt8, endpoints: UInt8, _ klass: UInt8, _ subclass: UInt8, _ proto: UInt8, string: UInt8) -> [UInt8] {
        [9, 4, number, 0, endpoints, klass, subclass, proto, string]
    }

    private static func endpoint(_ address: UInt8, bulk: Bool, size: UInt16, interval: UInt8) -> [UInt8] {
        [7, 5, address, bulk ? 0x02 : 0x03, UInt8(size & 0xFF), UInt8(size >> 8), interval]
    }

    private static func association(first: UInt8, string: UInt8) -> [UInt8] {
        [8, 0x0B, first, 2, 0x02, 0x02, 0x01, string]
    }

    private static func normalMode(_ platform: Platform, strings: inout [UInt8: String]) -> (configuration: [UInt8], console: ConsoleEndpoints) {
        let product = platform.usb.productName
        let base = product.hasSuffix(" CDC Mode") ? String(product.dropLast(" CDC Mode".count)) : product
        var body: [UInt8]
        let console: ConsoleEndpoints
        let interfaces: UInt8 = 3
        let header: (configurationString: UInt8, attributes: UInt8, power: UInt8)
        switch platform.mcu {
        case .nrf52840:
            // IAD, CDC control (if 0), CDC data (if 1), Particle control (if 2); self powered, 500 mA.
            // The data endpoints' order (IN before OUT) follows the SDK's GLOBAL_DEF argument order:
            // inferred from the SDK, not seen on a board.
            strings[4] = "\(base) Serial"  // defined, referenced by no descriptor
            strings[5] = "\(base) Control Interface"
            body = association(first: 0, string: 0)
                + interface(0, endpoints: 1, 0x02, 0x02, 0x01, string: 0) + cdcFunctional(callManagement: 0x03, control: 0, data: 1)
                + endpoint(0x82, bulk: false, size: 64, interval: 0x10)
                + interface(1, endpoints: 2, 0x0A, 0x00, 0x00, string: 0)
                + endpoint(0x81, bulk: true, size: 64, interval: 0) + endpoint(0x01, bulk: true, size: 64, interval: 0)
                + interface(2, endpoints: 0, 0xFF, 0xFF, 0xFF, string: 5)
            console = ConsoleEndpoints(dataIn: 0x81, dataOut: 0x01, notification: 0x82)
            header = (0, 0xC0, 0xFA)
        case .rtl872x:
            // Particle control first (if 0), then IAD, CDC control (if 1) and data (if 2): the
            // driver hands out EP1-IN, EP2-OUT, EP3-IN in that order (usbd_driver.cpp:409-414).
            strings[4] = product
            strings[5] = "\(product) Control Interface"
            strings[6] = "\(product) USB Serial"
            body = interface(0, endpoints: 0, 0xFF, 0xFF, 0xFF, string: 5)
                + association(first: 1, string: 6)
                + interface(1, endpoints: 1, 0x02, 0x02, 0x01, string: 6) + cdcFunctional(callManagement: 0x00, control: 1, data: 2)
                + endpoint(0x81, bulk: false, size: 8, interval: 0x10)
                + interface(2, endpoints: 2, 0x0A, 0x00, 0x00, string: 6)
                + endpoint(0x02, bulk: true, size: 64, interval: 0x10) + endpoint(0x83, bulk: true, size: 64, interval: 0x10)
            console = ConsoleEndpoints(dataIn: 0x83, dataOut: 0x02, notification: 0x81)
            header = (4, 0x80, 0xFA)
        case .stm32f2xx:
            // The composite driver: IAD and CDC (usbd_mcdc.c:62-160), then the vendor interface #2
            // (usbd_composite.c:107-118); bus powered, 100 mA. The Photon's OTG HS core has EP3 for
            // CDC commands; the Electron's and P1's OTG FS core use a dummy EP10 (usbd_conf.h:95-106).
            strings[4] = "Composite"
            strings[9] = "\(product) Control Interface"
            let highSpeedCore = platform.id.rawValue == 6
            let notification: UInt8 = highSpeedCore ? 0x83 : 0x8A
            body = association(first: 0, string: 0)
                + interface(0, endpoints: 1, 0x02, 0x02, 0x01, string: 0) + cdcFunctional(callManagement: 0x00, control: 0, data: 1)
                + endpoint(notification, bulk: false, size: 8, interval: highSpeedCore ? 0x10 : 0xFF)
                + interface(1, endpoints: 2, 0x0A, 0x00, 0x00, string: 0)
                + endpoint(0x01, bulk: true, size: 64, interval: highSpeedCore ? 0x10 : 0xFF) + endpoint(0x81, bulk: true, size: 64, interval: 0)
                + interface(2, endpoints: 0, 0xFF, 0xFF, 0xFF, string: 9)
            console = ConsoleEndpoints(dataIn: 0x81, dataOut: 0x01, notification: notification)
            header = (4, 0x80, 0x32)
        }
        let total = 9 + body.count
        let configuration = [9, 2, UInt8(total & 0xFF), UInt8(total >> 8), interfaces, 1, header.configurationString, header.attributes, header.power] + body
        return (configuration, console)
    }

    /// GET_DESCRIPTOR's answer; nil for what the device does not have (it stalls).
    public func descriptor(type: UInt8, index: UInt8) -> [UInt8]? {
        switch type {
        case 1: return device
        case 2: return index == 0 ? configuration : nil
        case 3:
            if index == 0 { return [4, 3, 0x09, 0x04] }  // English (US)
            // The Microsoft OS string "MSFT100", vendor code 0xEE: every family answers it.
            if index == 0xEE { return [0x12, 3] + "MSFT100".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } + [0xEE, 0] }
            guard let text = strings[index] else { return nil }
            let units = Array(text.utf16.prefix(126))
            return [UInt8(2 + units.count * 2), 3] + units.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case 0x21:
            // The bootloaders answer the DFU functional descriptor on its own (usbd_dfu.cpp:89-93).
            return device[4] == 0 ? Self.dfuFunctional : nil
        default: return nil
        }
    }
}

extension BoardModel {
    /// Every control request a host can send the board on endpoint 0, whatever the mode:
    /// standard descriptor requests, DFU class requests in DFU mode, vendor requests otherwise.
    /// Nil when the board is not on USB.
    public mutating func usbControl(_ setup: ControlSetup, data: [UInt8]) -> ControlReply? {
        guard mode.productID(platform) != nil else { return nil }
        if setup.requestType == 0x80 || setup.requestType == 0x81, setup.request == 6 {  // to the device or an interface
            let descriptors = USBDescriptors(platform: platform, mode: mode, deviceID: deviceID)
            guard let bytes = descriptors.descriptor(type: UInt8(setup.value >> 8), index: UInt8(setup.value & 0xFF)) else { return .stall }
            return .data(Array(bytes.prefix(Int(setup.length))))
        }
        if setup.requestType & 0x60 == 0 {
            // Other standard requests (SET_CONFIGURATION, GET_STATUS…): nothing to do.
            return .data(setup.requestType & 0x80 != 0 ? Array([0, 0].prefix(Int(setup.length))) : [])
        }
        return mode == .dfu ? dfuControl(setup, data: data) : vendorControl(setup, data: data)
    }
}
