import Firmware

/// What `platforms` prints about one catalog entry.
struct PlatformReport: Encodable {
    struct Slot: Encodable {
        var function: String
        var index: Int
        var start: Int
        var size: Int
        var location: String
        var prefixOffset: Int
    }

    struct Region: Encodable {
        var name: String
        var base: Int
        var size: Int
        var sectors: [String]
    }

    var id: Int
    var buildName: String
    var name: String
    var generation: Int
    var mcu: String
    var usbVendorId: Int
    var usbProductId: Int
    var dfuProductId: Int
    var dfuAltSettings: [String]
    var internalFlash: Region
    var externalFlash: Region?
    var slots: [Slot]
    var stagingLocation: String
    var stagingAddress: Int
    var stagingSize: Int
    var maximumAppSize: Int
    var discontinued: Bool

    init(_ platform: Platform) {
        func region(_ flash: FlashRegion) -> Region {
            Region(name: flash.name, base: Int(flash.base), size: flash.size,
                   sectors: flash.sectors.map { "\($0.count)×\($0.size >> 10)K" })
        }
        id = Int(platform.id.rawValue)
        buildName = platform.buildName
        name = platform.displayName
        generation = platform.generation.rawValue
        mcu = platform.mcu.rawValue
        usbVendorId = Int(platform.usb.vendorID)
        usbProductId = Int(platform.usb.normalProductID)
        dfuProductId = Int(platform.usb.dfuProductID)
        dfuAltSettings = platform.dfuAltSettings.map(\.memoryLayout)
        internalFlash = region(platform.internalFlash)
        externalFlash = platform.externalFlash.map(region)
        slots = platform.slots.map {
            Slot(function: $0.function.name, index: Int($0.index), start: Int($0.start), size: $0.size,
                 location: $0.location.rawValue, prefixOffset: $0.prefixOffset)
        }
        stagingLocation = platform.staging.location.rawValue
        stagingAddress = Int(platform.staging.address)
        stagingSize = platform.staging.size
        maximumAppSize = platform.maximumAppSize
        discontinued = platform.discontinued
    }

    var humanSummary: String {
        let usb = "USB \(hex4(usbVendorId)):\(hex4(usbProductId)), DFU \(hex4(usbVendorId)):\(hex4(dfuProductId))"
        var lines = ["\(buildName) (\(id)) \(name), Gen \(generation), \(mcu)\(discontinued ? ", discontinued" : "")", "  \(usb)"]
        for (alt, layout) in dfuAltSettings.enumerated() { lines.append("  alt \(alt): \(layout)") }
        for slot in slots {
            lines.append("  \(slot.function) \(slot.index): \(hex(slot.start)), \(slot.size >> 10)K, \(slot.location)"
                + (slot.prefixOffset > 0 ? ", prefix at \(hex(slot.prefixOffset))" : ""))
        }
        lines.append("  OTA staging: \(stagingLocation) \(hex(stagingAddress)), \(stagingSize >> 10)K; max app \(maximumAppSize >> 10)K")
        return lines.joined(separator: "\n")
    }
}

private func hex4(_ value: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
