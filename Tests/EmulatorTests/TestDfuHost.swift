import DFU
import Links

/// A plain DfuSe host, written from the DFU 1.1 and DfuSe documents the way dfu-util
/// drives a device: erase each page, set the address, download blocks, poll GETSTATUS.
struct TestDfuHost {
    let pipe: any ControlPipe
    let timeout = Duration.seconds(1)

    struct Status: Equatable {
        var status: DFUStatus
        var state: DFUState
        var pollTimeout: Int
    }

    func getStatus() async throws -> Status {
        let reply = try await pipe.controlIn(ControlSetup(requestType: 0xA1, request: 3, value: 0, index: 0, length: 6), timeout: timeout)
        return Status(status: DFUStatus(rawValue: reply[0])!, state: DFUState(rawValue: reply[4])!,
                      pollTimeout: Int(reply[1]) | Int(reply[2]) << 8 | Int(reply[3]) << 16)
    }

    func getState() async throws -> DFUState {
        let reply = try await pipe.controlIn(ControlSetup(requestType: 0xA1, request: 5, value: 0, index: 0, length: 1), timeout: timeout)
        return DFUState(rawValue: reply[0])!
    }

    func download(block: UInt16, _ data: [UInt8]) async throws {
        try await pipe.controlOut(ControlSetup(requestType: 0x21, request: 1, value: block, index: 0, length: UInt16(data.count)),
                                  data: data, timeout: timeout)
    }

    func upload(block: UInt16, length: UInt16) async throws -> [UInt8] {
        try await pipe.controlIn(ControlSetup(requestType: 0xA1, request: 2, value: block, index: 0, length: length), timeout: timeout)
    }

    func clearStatus() async throws {
        try await pipe.controlOut(ControlSetup(requestType: 0x21, request: 4, value: 0, index: 0, length: 0), data: [], timeout: timeout)
    }

    func abort() async throws {
        try await pipe.controlOut(ControlSetup(requestType: 0x21, request: 6, value: 0, index: 0, length: 0), data: [], timeout: timeout)
    }

    /// Sends a download and polls until the device is idle again; returns the final status.
    @discardableResult
    func downloadAndWait(block: UInt16, _ data: [UInt8]) async throws -> Status {
        try await download(block: block, data)
        var status = try await getStatus()
        while status.state == .downloadBusy {
            status = try await getStatus()
        }
        return status
    }

    static func command(_ byte: UInt8, _ address: UInt32) -> [UInt8] {
        [byte, UInt8(address & 0xFF), UInt8(address >> 8 & 0xFF), UInt8(address >> 16 & 0xFF), UInt8(address >> 24)]
    }

    /// Erases the pages the image covers, then writes it in 4096-byte blocks.
    func flash(_ image: [UInt8], at address: UInt32, pageSize: Int) async throws {
        var page = address - address % UInt32(pageSize)
        while UInt64(page) < UInt64(address) + UInt64(image.count) {
            let status = try await downloadAndWait(block: 0, Self.command(0x41, page))
            guard status.status == .ok else { throw LinkError.other("erase of \(page) failed: \(status)") }
            page += UInt32(pageSize)
        }
        try await downloadAndWait(block: 0, Self.command(0x21, address))
        var block: UInt16 = 2
        for offset in stride(from: 0, to: image.count, by: 4096) {
            let status = try await downloadAndWait(block: block, Array(image[offset..<min(offset + 4096, image.count)]))
            guard status.status == .ok else { throw LinkError.other("write at block \(block) failed: \(status)") }
            block += 1
        }
    }

    /// The zero-length download that makes the device manifest and reset.
    func leave() async throws -> Status {
        try await download(block: 2, [])
        return try await getStatus()
    }
}
