/// The control bytes of XMODEM/YMODEM.
public enum YModemControl {
    public static let soh: UInt8 = 0x01  // 128-byte block
    public static let stx: UInt8 = 0x02  // 1024-byte block
    public static let eot: UInt8 = 0x04
    public static let ack: UInt8 = 0x06
    public static let nak: UInt8 = 0x15
    public static let can: UInt8 = 0x18
    public static let crcRequest: UInt8 = 0x43  // "C": the receiver wants CRC-16 blocks
    public static let padding: UInt8 = 0x1A
}
