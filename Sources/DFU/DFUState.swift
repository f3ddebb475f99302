/// `bState` of a DFU GETSTATUS or GETSTATE reply (reference §2.5).
public enum DFUState: UInt8, Hashable, Sendable {
    case appIdle = 0
    case appDetach = 1
    case dfuIdle = 2
    case downloadSync = 3
    case downloadBusy = 4
    case downloadIdle = 5
    case manifestSync = 6
    case manifest = 7
    case manifestWaitReset = 8
    case uploadIdle = 9
    case error = 10
}

/// `bStatus` of a DFU GETSTATUS reply (reference §2.4).
public enum DFUStatus: UInt8, Hashable, Sendable {
    case ok = 0x00
    case errTarget = 0x01
    case errFile = 0x02
    case errWrite = 0x03
    case errErase = 0x04
    case errCheckErased = 0x05
    case errProg = 0x06
    case errVerify = 0x07
    case errAddress = 0x08
    case errNotDone = 0x09
    case errFirmware = 0x0A
    case errVendor = 0x0B
    case errUSBReset = 0x0C
    case errPowerOnReset = 0x0D
    case errUnknown = 0x0E
    case errStalledPacket = 0x0F
}
