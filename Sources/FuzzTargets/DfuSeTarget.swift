import DFU
import Firmware
import Links

/// `dfuse`: the bytes are a device's side of a DfuSe session, through a `ScriptedControlPipe`
/// (GETSTATUS and UPLOAD replies, stalls, timeouts); the host polls with an injected sleep that
/// returns at once. Byte 0 picks what the host does (GETSTATUS, recover to dfuIDLE, write an
/// image, read memory, leave); byte 1 sizes the image or read, byte 2 places it in a Gen 3
/// internal flash of 4 KiB pages; the rest is the script. Checked after a write the device
/// accepted: the blocks sent are the image, numbered from 2, after SET_ADDRESS_POINTER to its
/// address, with the pages it covers erased first. After a read: exactly the bytes asked for.
enum DfuSeTarget {
    static let layout = DfuSeMemoryLayout("@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka")!

    static func run(_ bytes: [UInt8]) {
        runBlocking { await Self.session(bytes) }
    }

    static func session(_ bytes: [UInt8]) async {
        var input = FuzzReader(bytes)
        let operation = input.byte() ?? 0
        let size = Int(input.byte() ?? 0)
        let place = UInt32(input.byte() ?? 0)
        let pipe = ScriptedControlPipe(script: input.rest())
        let host = DfuSeHost(pipe: pipe, transferSize: 64, requestTimeout: .seconds(1), sleep: { _ in })
        switch operation % 5 {
        case 0:
            _ = try? await host.getStatus()
        case 1:
            try? await host.makeIdle()
        case 2:
            let image = pattern(size * 4 + 1)
            // Near the end of the flash for the high values (past it, the host must refuse),
            // sometimes in the middle of a page.
            let address = place << 12 | (place & 0x03) << 8
            guard (try? await host.write(image, at: address, layout: layout)) != nil else { return }
            checkWrite(pipe.transfers, image: image, address: address)
        case 3:
            let count = size * 3 + 1
            guard let data = try? await host.read(place << 12, count: count) else { return }
            precondition(data.count == count, "DfuSe read \(data.count) bytes, \(count) were asked for")
        default:
            try? await host.leave()
        }
    }

    static func checkWrite(_ transfers: [ScriptedControlPipe.Transfer], image: [UInt8], address: UInt32) {
        let downloads = transfers.filter { !$0.isIn && $0.setup.request == 1 }
        let blocks = downloads.filter { $0.setup.value >= 2 }
        precondition(blocks.flatMap(\.data) == image, "the DfuSe blocks sent are not the image")
        for (position, block) in blocks.enumerated() {
            precondition(block.setup.value == UInt16(truncatingIfNeeded: 2 + position), "DfuSe block \(position) went as wBlockNum \(block.setup.value)")
            precondition(Int(block.setup.length) == block.data.count, "a DfuSe block's wLength is not its size")
        }
        let commands = downloads.filter { $0.setup.value == 0 }.map(\.data)
        let setAddress: [UInt8] = [0x21, UInt8(address & 0xFF), UInt8(address >> 8 & 0xFF), UInt8(address >> 16 & 0xFF), UInt8(address >> 24)]
        precondition(commands.last == setAddress, "the last DfuSe command before the blocks is not SET_ADDRESS_POINTER to \(address)")
        let erased = Set(commands.filter { $0.count == 5 && $0[0] == 0x41 }.map {
            UInt32($0[1]) | UInt32($0[2]) << 8 | UInt32($0[3]) << 16 | UInt32($0[4]) << 24
        })
        for byte in [address, address + UInt32(image.count - 1)] {
            guard let sector = layout.sector(containing: byte) else { preconditionFailure("DfuSe wrote to \(byte), outside the flash") }
            precondition(erased.contains(sector.start), "DfuSe wrote to the page at \(sector.start) without erasing it")
        }
    }
}
