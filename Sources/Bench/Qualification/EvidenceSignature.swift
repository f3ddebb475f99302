import CCrypto
import Firmware
import Foundation

/// Ed25519 signatures over evidence files, through OpenSSL. Keys are PEM files: the private
/// key PKCS#8, the public key SubjectPublicKeyInfo, as `openssl genpkey -algorithm ed25519`
/// and `openssl pkey -pubout` write them, so either tool can make or check them.
public struct EvidenceSignature: Codable, Sendable, Equatable {
    public var algorithm = "Ed25519"
    /// SHA-256 of the public key's DER encoding: which key signed.
    public var keyID: String
    public var signature: String

    /// A new key pair, as PEM text.
    public static func generateKey() throws(SignatureError) -> (privateKey: String, publicKey: String) {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "ED25519", nil) else { throw .openSSL("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_keygen(context, &key) == 1, let key else { throw .openSSL("EVP_PKEY_keygen") }
        defer { EVP_PKEY_free(key) }
        let privatePEM = try pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
        let publicPEM = try pem { PEM_write_bio_PUBKEY($0, key) }
        return (privatePEM, publicPEM)
    }

    /// Signs `data` with the private key in `privateKeyPEM`.
    public static func sign(_ data: [UInt8], privateKeyPEM: String) throws(SignatureError) -> EvidenceSignature {
        let key = try load(privateKeyPEM, isPrivate: true)
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { throw .openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var length = 0
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1,
              EVP_DigestSign(context, nil, &length, data, data.count) == 1 else { throw .openSSL("EVP_DigestSign") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, data, data.count) == 1 else { throw .openSSL("EVP_DigestSign") }
        return EvidenceSignature(keyID: try keyID(of: key), signature: Data(signature.prefix(length)).base64EncodedString())
    }

    /// Whether this signature is `publicKeyPEM`'s over exactly `data`.
    public func verify(_ data: [UInt8], publicKeyPEM: String) throws(SignatureError) -> Bool {
        guard algorithm == "Ed25519", let bytes = Data(base64Encoded: signature) else { return false }
        let key = try Self.load(publicKeyPEM, isPrivate: false)
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { throw .openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { throw .openSSL("EVP_DigestVerifyInit") }
        let signatureBytes = [UInt8](bytes)
        return EVP_DigestVerify(context, signatureBytes, signatureBytes.count, data, data.count) == 1
    }

    /// The key id of a public key in PEM.
    public static func keyID(publicKeyPEM: String) throws(SignatureError) -> String {
        let key = try load(publicKeyPEM, isPrivate: false)
        defer { EVP_PKEY_free(key) }
        return try keyID(of: key)
    }

    private static func keyID(of key: OpaquePointer) throws(SignatureError) -> String {
        var der: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(key, &der)
        guard length > 0, let der else { throw .openSSL("i2d_PUBKEY") }
        defer { CRYPTO_free(der, #fileID, #line) }
        return SHA256.digest(Array(UnsafeBufferPointer(start: der, count: Int(length)))).hexString
    }

    private static func load(_ pem: String, isPrivate: Bool) throws(SignatureError) -> OpaquePointer {
        let bytes = Array(pem.utf8)
        guard let bio = BIO_new_mem_buf(bytes, Int32(bytes.count)) else { throw .openSSL("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        let key = isPrivate ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        ERR_clear_error()
        guard let key else { throw .badKey(isPrivate ? "not a PEM private key" : "not a PEM public key") }
        guard EVP_PKEY_is_a(key, "ED25519") == 1 else {
            EVP_PKEY_free(key)
            throw .badKey("not an Ed25519 key")
        }
        return key
    }

    private static func pem(_ write: (OpaquePointer) -> Int32) throws(SignatureError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw .openSSL("PEM_write") }
        var pointer: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
        guard length > 0, let pointer else { throw .openSSL("BIO_get_mem_data") }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}

public enum SignatureError: Error, Hashable, Sendable, CustomStringConvertible {
    case openSSL(String)
    case badKey(String)

    public var description: String {
        switch self {
        case .openSSL(let call):
            let code = ERR_get_error()
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            let detail = code == 0 ? "" : ": " + String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return "OpenSSL \(call) failed" + detail
        case .badKey(let reason):
            return "key: \(reason)"
        }
    }
}
