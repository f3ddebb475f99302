import Firmware
import Links
import Serial

/// `listening-mode`: the bytes are what a board in listening mode prints on its USB serial
/// console, to `ListeningModeClient` over a `ScriptedByteStream`. Byte 0 sets the size of the
/// pieces the answers arrive in (its low six bits, plus one); the rest splits at NUL bytes:
/// the first part is already on the line before the first question (log noise), each later
/// part is the answer to the next command the client writes (`i`, `v`, `m`, `s`, in that
/// order). Checked: a device id is 24 lowercase hexadecimal digits, a version a non-empty
/// line, a MAC address six lowercase hex pairs, and a module table re-encodes to JSON that
/// parses to the same table.
enum ListeningModeTarget {
    static func run(_ bytes: [UInt8]) {
        runBlocking { await Self.session(bytes) }
    }

    static func session(_ bytes: [UInt8]) async {
        var input = FuzzReader(bytes)
        let chunkSize = Int((input.byte() ?? 0) & 0x3F) + 1
        let parts = input.rest().split(separator: 0, omittingEmptySubsequences: false).map { Array($0) }
        let stream = ScriptedByteStream(initial: parts.first ?? [], answers: Array(parts.dropFirst()), chunkSize: chunkSize,
                                        silenceLimit: 2, readLimit: 2 * bytes.count + 64)
        // Long timeouts that never pass: the stream ends every wait itself.
        let client = ListeningModeClient(stream: stream, timeout: .seconds(30), quietPeriod: .milliseconds(1))
        if let identity = try? await client.identify() {
            precondition(isLowercaseHex(identity.deviceID, count: 24), "listening mode read the device id \(identity.deviceID.debugDescription)")
        }
        if let version = try? await client.systemVersion() {
            precondition(!version.isEmpty && !version.contains(where: \.isNewline), "listening mode read the version \(version.debugDescription)")
        }
        if let address = try? await client.macAddress() {
            let scalars = Array(address.unicodeScalars)
            let wellFormed = scalars.count == 17 && scalars.enumerated().allSatisfy { position, scalar in
                position % 3 == 2 ? scalar == ":" : isLowercaseHex(scalar)
            }
            precondition(wellFormed, "listening mode read the MAC address \(address.debugDescription)")
        }
        if let table = try? await client.moduleTable() {
            _ = table.installedModules
            let again = try? ModuleTableDescription.parse(table.json())
            precondition(again == table, "a module table does not survive its own JSON: \(table.json())")
        }
    }

    static func isLowercaseHex(_ text: String, count: Int) -> Bool {
        text.unicodeScalars.count == count && text.unicodeScalars.allSatisfy(isLowercaseHex)
    }

    static func isLowercaseHex(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar) || ("a"..."f").contains(scalar)
    }
}
