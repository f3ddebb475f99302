import Firmware
import Links

/// The USB descriptors an emulated board presents: a DFU interface with one alternate
/// setting per memory in DFU mode (§2.1, §2.8), a CDC serial port in normal mode.
public struct USBDescriptors: Sendable {
    public var device: [UInt8]
    public var configuration: [UInt8]
    /// String descriptors by index (1 manufacturer, 2 product, 3 serial, 4… interfaces).
    public var strings: [UInt8: String]

    public init(platform: Platform, mode: EmulatedMode, deviceID: String) {
        let dfu = mode == .dfu
        let product = mode.productID(platform) ?? platform.usb.normalProductID
        device = [18, 1, 0x00, 0x02, dfu ? 0 : 0xEF, dfu ? 0 : 0x02, dfu ? 0 : 0x01, 64,
                  UInt8(platform.usb.vendorID & 0xFF), UInt8(platform.usb.vendorID >> 8), UInt8(product & 0xFF), UInt8(product >> 8),
                  0x50, 0x02, 1, 2, 3, 1]
        var strings: [UInt8: String] = [1: "Particle", 2: "\(platform.displayName)\(dfu ? " DFU Mode" : "")", 3: deviceID]
        var interfaces: [UInt8] = []
        if dfu {
            for (position, alt) in platform.dfuAltSettings.enumerated() {
                let index = UInt8(4 + position)
                strings[index] = alt.memoryLayout
                interfaces += [9, 4, 0, alt.alt, 0, 0xFE, 0x01, 0x02, index]
            }
            // DFU functional descriptor: will-detach, can upload and download; detach 255 ms;
            // wTransferSize 4096; DfuSe 1.1a.
            interfaces += [9, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x10, 0x1A, 0x01]
        } else {
            // CDC ACM: communication interface and data interface.
            interfaces += [9, 4, 0, 0, 1, 0x02, 0x02, 0x01, 0]
            interfaces += [7, 5, 0x82, 0x03, 0x08, 0x00, 0xFF]
            interfaces += [9, 4, 1, 0, 2, 0x0A, 0x00, 0x00, 0]
            interfaces += [7, 5, 0x81, 0x02, 0x40, 0x00, 0x00, 7, 5, 0x01, 0x02, 0x40, 0x00, 0x00]
        }
        let total = 9 + interfaces.count
        configuration = [9, 2, UInt8(total & 0xFF), UInt8(total >> 8), dfu ? 1 : 2, 1, 0, 0x80, 50] + interfaces
        self.strings = strings
    }

    /// GET_DESCRIPTOR's answer; nil for what the device does not have (it stalls).
    public func descriptor(type: UInt8, index: UInt8) -> [UInt8]? {
        switch type {
        case 1: return device
        case 2: return index == 0 ? configuration : nil
        case 3:
            if index == 0 { return [4, 3, 0x09, 0x04] }  // English (US)
            guard let text = strings[index] else { return nil }
            let units = Array(text.utf16.prefix(126))
            return [UInt8(2 + units.count * 2), 3] + units.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
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
        if setup.requestType == 0x80, setup.request == 6 {
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
