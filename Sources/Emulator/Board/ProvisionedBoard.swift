import Firmware

extension BoardModel {
    /// A board with `firmware` in flash, powered on and running.
    public static func provisioned(
        platform: Platform, deviceID: String? = nil, firmware: FirmwareSet? = nil, defects: Set<Defect> = []
    ) throws -> BoardModel {
        let firmware = try firmware ?? FirmwareSet.standard(for: platform)
        var board = BoardModel(platform: platform, deviceID: deviceID ?? defaultDeviceID(platform), defects: defects)
        for module in firmware.modules + [firmware.application] { try board.install(module) }
        if let factory = firmware.factoryApplication, let area = platform.factoryImage {
            try board.write(factory, to: area.location == .external ? .external : .internal, at: area.address)
        }
        board.deviceOS = firmware.deviceOS
        board.storage.resetOperationLog()
        board.powerOn()
        return board
    }

    /// The same board under another device id: a copy of a provisioned board shares its
    /// flash pages, so a thousand boards of one platform cost little more than one.
    public func cloned(deviceID: String, defects: Set<Defect>) -> BoardModel {
        var copy = self
        copy.deviceID = deviceID
        copy.defects = defects
        copy.events = []
        copy.console = []
        copy.serialOutput = []
        return copy
    }

    /// A stable, plausible 24-hex-digit device id for an emulated board.
    public static func defaultDeviceID(_ platform: Platform, serial: Int = 1) -> String {
        let text = "e00fce68" + String(format: "%04x", Int(platform.id.rawValue)) + String(format: "%012x", serial)
        return String(text.prefix(24))
    }

    /// Writes a module at its own start address, erasing first: what a bench does by DFU.
    public mutating func install(_ module: [UInt8]) throws {
        let file = try ModuleFile(bytes: module)
        guard let first = file.modules.first else { return }
        try write(module, to: .internal, at: first.startAddress)
    }

    mutating func write(_ bytes: [UInt8], to device: FlashDevice, at address: UInt32, phase: UpdatePhase = .external) throws(PowerLost) {
        let previous = storage.phase
        storage.phase = phase
        defer { storage.phase = previous }
        try storage.eraseRange(device, address, length: bytes.count)
        var offset = 0
        while offset < bytes.count {
            let count = min(4096, bytes.count - offset)
            try storage.program(device, address + UInt32(offset), Array(bytes[offset..<(offset + count)]))
            offset += count
        }
    }
}
