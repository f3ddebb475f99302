/// A Particle device id as it is written: 24 hexadecimal digits (12 bytes), the board's USB
/// serial number and its name in the cloud.
public enum DeviceID {
    /// ASCII digits only: `Character.isHexDigit` also takes fullwidth forms ("０"), which no
    /// device prints and which would not survive a comparison with one that does.
    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == 24 && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
        }
    }
}
