import DFU
import Firmware
import Links

/// The bootloader's DFU class driver with ST's DfuSe extensions, as Particle's bootloaders
/// implement it (§2.6 for Gen 3 and RTL872x, §2.7 for the Gen 2 differences). Lives in the
/// board's RAM while it is in DFU mode.
public struct DfuSeMachine: Sendable {
    public static let transferSize = 4096
    /// DfuSe commands Particle's bootloader lists for UPLOAD with wValue 0 (§2.3).
    static let commandList: [UInt8] = [0x00, 0x21, 0x41, 0xFA, 0xFB]

    public internal(set) var state: DFUState = .dfuIdle
    public internal(set) var status: DFUStatus = .ok
    public internal(set) var alternateSetting: UInt8 = 0
    public internal(set) var addressPointer: UInt32 = 0
    var pending: (block: UInt16, data: [UInt8])?
    /// Gen 2 stalls the next request after a failed operation instead of reporting dfuERROR.
    var stallNext = false
    /// Set once the manifest status was delivered: the board resets about 500 ms later.
    public internal(set) var resetScheduled = false

    public init() {}
}

/// What a control request gets back from the emulated device.
public enum ControlReply: Hashable, Sendable {
    case data([UInt8])
    case stall
}

extension BoardModel {
    /// DFU class requests (§2.2) on the DFU interface.
    public mutating func dfuControl(_ setup: ControlSetup, data: [UInt8]) -> ControlReply {
        guard mode == .dfu else { return .stall }
        var machine = dfu
        defer { dfu = machine }
        if machine.stallNext {
            machine.stallNext = false
            return .stall
        }
        let gen2 = platform.mcu == .stm32f2xx
        func undefined() -> ControlReply {
            machine.state = .error
            machine.status = .errUnknown
            return .stall
        }
        let resting: Set<DFUState> = [.dfuIdle, .downloadSync, .downloadIdle, .manifestSync, .uploadIdle]

        switch (setup.requestType, setup.request) {
        case (0x21, 1):  // DNLOAD
            guard machine.state == .dfuIdle || machine.state == .downloadIdle else { return undefined() }
            if setup.length == 0 {
                machine.state = .manifestSync  // leave
            } else {
                machine.pending = (setup.value, Array(data.prefix(Int(setup.length))))
                machine.state = .downloadSync
            }
            return .data([])

        case (0xA1, 3):  // GETSTATUS
            switch machine.state {
            case .downloadSync where machine.pending == nil:
                // Gen 2 parks in dfuDNLOAD_SYNC after an operation; this GETSTATUS makes it idle (§2.7).
                machine.state = .downloadIdle
                return .data(statusReply(machine, pollTimeout: 0))
            case .downloadSync:
                machine.state = .downloadBusy
                let reply = statusReply(machine, pollTimeout: pollTimeout(machine))
                // The erase, write or command runs when this reply's IN stage completes.
                executePending(&machine, gen2: gen2)
                return .data(reply)
            case .manifestSync:
                machine.state = .manifest
                machine.status = .ok
                // Gen 2 reports dfuDNLOAD_IDLE here to keep dfu-util tidy (§2.7).
                var reply = statusReply(machine, pollTimeout: 0)
                if gen2 { reply[4] = DFUState.downloadIdle.rawValue }
                machine.state = .manifestWaitReset
                machine.resetScheduled = true
                return .data(reply)
            case .downloadBusy, .manifestWaitReset, .manifest:
                // Undefined; after leave this also cancels the pending reset (§2.6).
                machine.resetScheduled = false
                return undefined()
            default:
                return .data(statusReply(machine, pollTimeout: 0))
            }

        case (0x21, 4):  // CLRSTATUS
            guard machine.state == .error else { return undefined() }
            machine.state = .dfuIdle
            machine.status = .ok
            return .data([])

        case (0xA1, 5):  // GETSTATE
            if [.downloadBusy, .manifest, .manifestWaitReset].contains(machine.state) { return undefined() }
            return .data([machine.state.rawValue])

        case (0x21, 6):  // ABORT
            guard resting.contains(machine.state) else { return undefined() }
            machine.state = .dfuIdle
            machine.status = .ok
            machine.pending = nil
            return .data([])

        case (0x21, 0):  // DETACH
            guard resting.contains(machine.state) else { return undefined() }
            machine.state = .dfuIdle
            return .data([])

        case (0xA1, 2):  // UPLOAD
            guard machine.state == .dfuIdle || machine.state == .uploadIdle else { return undefined() }
            switch setup.value {
            case 0:
                machine.state = .dfuIdle
                return .data(Array(DfuSeMachine.commandList.prefix(Int(setup.length))))
            case 1:
                return undefined()
            default:
                // The block address always uses 4096, not the request's length (§2.6).
                let address = UInt32(truncatingIfNeeded: (Int(setup.value) - 2) * DfuSeMachine.transferSize) &+ machine.addressPointer
                guard let bytes = dfuRead(alt: machine.alternateSetting, address: address, count: Int(setup.length)) else {
                    return undefined()
                }
                machine.state = .uploadIdle
                return .data(bytes)
            }

        default:
            return .stall
        }
    }

    /// SET_INTERFACE: which memory the DFU requests address.
    public mutating func dfuSelectAlternateSetting(_ alt: UInt8) -> Bool {
        guard mode == .dfu, platform.dfuAltSettings.contains(where: { $0.alt == alt }) else { return false }
        dfu.alternateSetting = alt
        return true
    }

    /// Completes a scheduled leave: Finish_Update resets the board into its firmware.
    public mutating func dfuCompleteLeave() {
        guard mode == .dfu, dfu.resetScheduled else { return }
        otherTime += .milliseconds(500)
        dfu = DfuSeMachine()
        reset(.update)
    }

    /// Enters DFU mode the way System.dfu() or a 14400-baud open does.
    public mutating func enterDFUMode() {
        reset(.dfuMode)
        dfu = DfuSeMachine()
        mode = .dfu
        log("bootloader: DFU mode requested")
    }

    private func statusReply(_ machine: DfuSeMachine, pollTimeout: UInt32) -> [UInt8] {
        [machine.status.rawValue, UInt8(pollTimeout & 0xFF), UInt8(pollTimeout >> 8 & 0xFF), UInt8(pollTimeout >> 16 & 0xFF),
         machine.state.rawValue, 0]
    }

    /// bwPollTimeout: always 0 on Gen 3; Gen 2's DCT alt reports the swapped MAL timings (§2.7).
    private func pollTimeout(_ machine: DfuSeMachine) -> UInt32 {
        guard platform.mcu == .stm32f2xx, machine.alternateSetting == 1, let pending = machine.pending else { return 0 }
        let isErase = pending.block == 0 && pending.data.first == 0x41
        return isErase ? 500 : 1
    }

    private mutating func executePending(_ machine: inout DfuSeMachine, gen2: Bool) {
        guard let pending = machine.pending else { return }
        machine.pending = nil
        func fail(_ status: DFUStatus) {
            if gen2 {
                // A failed Gen 2 erase or write only stalls EP0 (§2.7).
                machine.stallNext = true
                machine.state = .downloadIdle
            } else {
                machine.state = .error
                machine.status = status
            }
        }
        switch pending.block {
        case 0:
            guard let command = pending.data.first else { return fail(.errUnknown) }
            switch command {
            case 0x21:
                guard pending.data.count == 5 else { return fail(.errUnknown) }
                machine.addressPointer = pending.data.u32(at: 1)
                machine.state = .downloadIdle
            case 0x41:
                if pending.data.count == 1 { return fail(.errTarget) }  // mass erase refused
                guard pending.data.count == 5 else { return fail(.errUnknown) }
                guard dfuErase(alt: machine.alternateSetting, address: pending.data.u32(at: 1)) else { return fail(.errUnknown) }
                machine.state = .downloadIdle
            case 0xFA:
                storage.phase = .external
                try? storage.writeDCT { $0.safeModeRequested = true }
                machine.state = .manifestSync
            case 0xFB:
                machine.state = .downloadIdle
            case 0x00:
                break  // GET_COMMAND by DNLOAD: no transition at all; the device stays in dfuDNBUSY
            case 0x92:
                fail(.errUnknown)
            default:
                fail(.errStalledPacket)
            }
        case 1:
            fail(.errTarget)
        default:
            let address = UInt32(truncatingIfNeeded: (Int(pending.block) - 2) * DfuSeMachine.transferSize) &+ machine.addressPointer
            guard dfuWrite(alt: machine.alternateSetting, address: address, bytes: pending.data) else { return fail(.errUnknown) }
            machine.state = .downloadIdle
        }
        if gen2, machine.state == .downloadIdle { machine.state = .downloadSync }
    }

    // MARK: Memories behind the alternate settings

    private func layout(_ alt: UInt8) -> DfuSeMemoryLayout? {
        platform.dfuAltSettings.first { $0.alt == alt }.flatMap { DfuSeMemoryLayout($0.memoryLayout) }
    }

    /// Maps a DFU address of an alt setting to storage; nil outside its memory.
    private func target(alt: UInt8, address: UInt32) -> (FlashDevice, UInt32, DfuSeMemoryLayout.Segment)? {
        guard let layout = layout(alt), let segment = layout.segment(containing: address) else { return nil }
        switch alt {
        case 0: return (.internal, address, segment)
        case 1: return (.dct, address - layout.base, segment)
        default: return (.external, address - layout.base, segment)
        }
    }

    func dfuRead(alt: UInt8, address: UInt32, count: Int) -> [UInt8]? {
        guard count > 0, let (device, location, segment) = target(alt: alt, address: address), segment.readable,
              target(alt: alt, address: address &+ UInt32(count - 1)) != nil
        else { return nil }
        if device == .dct { return Array(storage.contents.dct.raw[Int(location)..<(Int(location) + count)]) }
        return storage.read(device, location, count: count)
    }

    mutating func dfuErase(alt: UInt8, address: UInt32) -> Bool {
        guard let (device, location, segment) = target(alt: alt, address: address), segment.erasable || device == .dct else { return false }
        storage.phase = .external
        if device == .dct { return true }  // the DCT MAL's erase is a no-op (§2.6)
        return (try? storage.eraseSector(device, containing: location)) != nil
    }

    mutating func dfuWrite(alt: UInt8, address: UInt32, bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, let (device, location, segment) = target(alt: alt, address: address), segment.writable,
              let last = target(alt: alt, address: address &+ UInt32(bytes.count - 1)), last.2.writable
        else { return false }
        storage.phase = .external
        if device == .dct {
            var raw = storage.contents.dct.raw
            raw.replaceSubrange(Int(location)..<(Int(location) + bytes.count), with: bytes)
            return (try? storage.writeDCT { $0.raw = raw }) != nil
        }
        guard (try? storage.program(device, location, bytes)) != nil else { return false }
        // nRF52840: a valid user header written at 0xB4000 erases the legacy app's first page (§2.6).
        if platform.mcu == .nrf52840, device == .internal, location == 0x000B_4000, bytes.count >= ModulePrefix.size,
           let prefix = ModulePrefix(bytes, at: 0), prefix.function == .user, prefix.platformID == platform.id {
            _ = try? storage.eraseSector(.internal, containing: 0x000D_4000)
        }
        return true
    }
}

extension Array where Element == UInt8 {
    fileprivate func u32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24
    }
}
