import CCrypto

/// SHA-256 through OpenSSL's libcrypto; a module's suffix carries the digest of
/// everything before the digest itself (§3.5).
public enum SHA256 {
    public static let digestSize = 32

    public static func digest(_ bytes: [UInt8], range: Range<Int>? = nil) -> [UInt8] {
        let range = range ?? bytes.indices
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        var digest = [UInt8](repeating: 0, count: digestSize)
        let ok = bytes.withUnsafeBufferPointer { buffer -> Bool in
            digest.withUnsafeMutableBufferPointer { output in
                var length: UInt32 = 0
                let input = buffer.baseAddress.map { UnsafeRawPointer($0 + range.lowerBound) }
                return EVP_Digest(input, range.count, output.baseAddress, &length, EVP_sha256(), nil) == 1
                    && length == UInt32(digestSize)
            }
        }
        // EVP_Digest fails only when libcrypto itself is broken (no SHA-256 provider).
        precondition(ok, "libcrypto could not compute SHA-256")
        return digest
    }
}
