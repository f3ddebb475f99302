/// Protobuf fields written by hand, for the replies control.proto's generated Swift does not
/// carry (asset info, cloud status, interface list, ICCID): a few scalar and string fields each,
/// with proto3's rule that a field at its default value is left out.
enum ProtobufFields {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            let low = UInt8(value & 0x7F)
            value >>= 7
            bytes.append(value == 0 ? low : low | 0x80)
        } while value != 0
        return bytes
    }

    static func field(_ number: UInt64, varint value: UInt64) -> [UInt8] {
        value == 0 ? [] : varint(number << 3) + varint(value)
    }

    static func field(_ number: UInt64, bytes: [UInt8]) -> [UInt8] {
        bytes.isEmpty ? [] : varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes
    }

    static func field(_ number: UInt64, string: String) -> [UInt8] {
        field(number, bytes: Array(string.utf8))
    }
}
