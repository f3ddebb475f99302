import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A certificate and its private key: a device's identity (its device id as the common name)
/// or the cloud's (its host name as a subject alternative name).
public struct TLSIdentity: Sendable {
    public let certificate: Certificate
    public let privateKey: P256.Signing.PrivateKey

    public init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The subject's common name: what a device certificate names as its device id.
    public var commonName: String? { Self.commonName(of: certificate) }

    public static func commonName(of certificate: Certificate) -> String? {
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                return String(attribute.value)
            }
        }
        return nil
    }

    public func certificatePEM() throws -> String { try certificate.serializeAsPEM().pemString }
    public var privateKeyPEM: String { privateKey.pemRepresentation }

    public init(certificatePEM: String, privateKeyPEM: String) throws {
        self.init(certificate: try Certificate(pemEncoded: certificatePEM),
                  privateKey: try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM))
    }

    /// The same, in NIOSSL's types.
    func nioCertificateChain() throws -> [NIOSSLCertificateSource] {
        [.certificate(try NIOSSLCertificate(bytes: Array(try certificatePEM().utf8), format: .pem))]
    }

    func nioPrivateKey() throws -> NIOSSLPrivateKeySource {
        .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem))
    }
}

/// A certificate authority of the bench's own: one issues the cloud's certificate, another
/// every device's (Particle provisions device keys at manufacture; here a board is provisioned
/// when it is made). Whoever holds a certificate from the other authority is a stranger.
public struct CertificateAuthority: Sendable {
    public let identity: TLSIdentity

    public init(identity: TLSIdentity) {
        self.identity = identity
    }

    /// A new authority with a fresh P-256 key, valid for ten years.
    public static func create(name: String) throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("otabench")
            CommonName(name)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        return CertificateAuthority(identity: TLSIdentity(certificate: certificate, privateKey: key))
    }

    /// A leaf certificate for `commonName` (a device id, or the cloud's name), usable by a
    /// client and a server, with `hostName` as its DNS name when it serves.
    public func issue(commonName: String, hostName: String? = nil) throws -> TLSIdentity {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(5 * 365 * 86400),
            issuer: identity.certificate.subject,
            subject: try DistinguishedName {
                OrganizationName("otabench")
                CommonName(commonName)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                if let hostName { SubjectAlternativeNames([.dnsName(hostName)]) }
            },
            issuerPrivateKey: .init(identity.privateKey))
        return TLSIdentity(certificate: certificate, privateKey: key)
    }

    func nioTrustRoots() throws -> NIOSSLTrustRoots {
        .certificates([try NIOSSLCertificate(bytes: Array(try identity.certificatePEM().utf8), format: .pem)])
    }
}

/// Everything on the cloud's side of the device channel: its own identity, and whom it trusts.
/// Devices hold the other half: their identity, and the cloud's authority.
public struct CloudTrust: Sendable {
    /// The name devices expect the cloud's certificate to carry.
    public static let cloudHostName = "device.cloud.otabench"

    /// Signs the cloud's certificate; devices trust it.
    public let cloudAuthority: CertificateAuthority
    /// Signs device certificates; the cloud trusts it.
    public let deviceAuthority: CertificateAuthority
    public let cloudIdentity: TLSIdentity

    public init(cloudAuthority: CertificateAuthority, deviceAuthority: CertificateAuthority, cloudIdentity: TLSIdentity) {
        self.cloudAuthority = cloudAuthority
        self.deviceAuthority = deviceAuthority
        self.cloudIdentity = cloudIdentity
    }

    /// A new pair of authorities and a cloud certificate.
    public static func create() throws -> CloudTrust {
        let cloudAuthority = try CertificateAuthority.create(name: "otabench cloud authority")
        let deviceAuthority = try CertificateAuthority.create(name: "otabench device authority")
        return CloudTrust(cloudAuthority: cloudAuthority, deviceAuthority: deviceAuthority,
                          cloudIdentity: try cloudAuthority.issue(commonName: "otabench local cloud", hostName: cloudHostName))
    }

    /// What a device made by this bench holds: its own certificate and the cloud's authority.
    public func provisionDevice(_ deviceID: String) throws -> DeviceCredentials {
        DeviceCredentials(identity: try deviceAuthority.issue(commonName: deviceID), trustedCloud: cloudAuthority)
    }

    /// The server side: TLS 1.3, a client certificate from the device authority required.
    public func serverConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: try cloudIdentity.nioCertificateChain(),
                                                                     privateKey: try cloudIdentity.nioPrivateKey())
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = try deviceAuthority.nioTrustRoots()
        return configuration
    }

    // MARK: Files

    static let files = ["cloud-authority.pem", "cloud-authority.key", "device-authority.pem", "device-authority.key", "cloud.pem", "cloud.key"]

    /// Reads the trust kept in `folder`, or creates it there (keys 0600) when the folder has none:
    /// a restarted cloud keeps its identity, so provisioned devices still trust it.
    public static func loadOrCreate(in folder: URL) throws -> CloudTrust {
        let paths = files.map { folder.appendingPathComponent($0).path }
        let present = paths.filter { FileManager.default.fileExists(atPath: $0) }
        if !present.isEmpty { return try load(from: folder) }
        let trust = try create()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let contents = [try trust.cloudAuthority.identity.certificatePEM(), trust.cloudAuthority.identity.privateKeyPEM,
                        try trust.deviceAuthority.identity.certificatePEM(), trust.deviceAuthority.identity.privateKeyPEM,
                        try trust.cloudIdentity.certificatePEM(), trust.cloudIdentity.privateKeyPEM]
        for (path, text) in zip(paths, contents) {
            let isKey = path.hasSuffix(".key")
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: isKey ? 0o600 : 0o644]) else {
                throw DeviceMessageError("could not write \(path)")
            }
        }
        return trust
    }

    /// Reads the trust a cloud keeps in `folder` (what a fleet needs to provision boards the
    /// cloud accepts); every file must be there.
    public static func load(from folder: URL) throws -> CloudTrust {
        let paths = files.map { folder.appendingPathComponent($0).path }
        let missing = paths.filter { !FileManager.default.fileExists(atPath: $0) }
        guard missing.isEmpty else {
            throw DeviceMessageError("\(folder.path) lacks \(missing.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")): not a cloud's trust folder (otabench cloud serve creates one)")
        }
        let text = try paths.map { try String(contentsOfFile: $0, encoding: .utf8) }
        do {
            return CloudTrust(cloudAuthority: CertificateAuthority(identity: try TLSIdentity(certificatePEM: text[0], privateKeyPEM: text[1])),
                              deviceAuthority: CertificateAuthority(identity: try TLSIdentity(certificatePEM: text[2], privateKeyPEM: text[3])),
                              cloudIdentity: try TLSIdentity(certificatePEM: text[4], privateKeyPEM: text[5]))
        } catch {
            throw DeviceMessageError("\(folder.path) holds a certificate or key that does not read: \(error)")
        }
    }
}

/// A device's half: its certificate and key, and the only authority whose cloud it accepts.
public struct DeviceCredentials: Sendable {
    public let identity: TLSIdentity
    public let trustedCloud: CertificateAuthority

    public init(identity: TLSIdentity, trustedCloud: CertificateAuthority) {
        self.identity = identity
        self.trustedCloud = trustedCloud
    }

    /// TLS 1.3, the cloud's certificate checked against the trusted authority and host name.
    public func clientConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateChain = try identity.nioCertificateChain()
        configuration.privateKey = try identity.nioPrivateKey()
        configuration.trustRoots = try trustedCloud.nioTrustRoots()
        configuration.certificateVerification = .fullVerification
        return configuration
    }
}
