/// A TLV extension of the prefix or the suffix (§3.4): type u16, length u16 (the length
/// counts this 4-byte header), then the body.
public enum ModuleExtension: Hashable, Sendable {
    /// Ends a list; may carry padding.
    case end(padding: [UInt8])
    /// Device OS writes a 0xFFFF filler half-word, then the 16-bit product id and version
    /// (`linker_module_end.ld`); Particle's parser reads the id at +2. A filler other than
    /// 0xFFFF is kept so the bytes re-encode as they were read.
    case productData(id: UInt16, version: UInt16, filler: UInt16 = 0xFFFF)
    case dynamicLocation(moduleStart: UInt32, dynalibLoad: UInt32, dynalibStart: UInt32)
    case dependency(ModuleDependency, targetID: UInt32)
    case hash(type: UInt8, digest: [UInt8])
    case name(String)
    case assetDependency(hashType: UInt8, hash: [UInt8], name: String)
    case securityMode(mode: UInt8, certificate: [UInt8])
    case assetType(UInt8)
    /// A type we do not decode, or a known type whose body has an unexpected size.
    case other(type: UInt16, body: [UInt8])

    public enum Kind: UInt16, Sendable {
        case end = 0x0000
        case productData = 0x0001
        case dynamicLocation = 0x0002
        case dependency = 0x0003
        case hash = 0x0010
        case name = 0x0011
        case assetDependency = 0x0012
        case securityMode = 0x0013
        case assetType = 0x0014
        case invalid = 0xFFFF
    }

    public static let headerSize = 4

    public var type: UInt16 {
        switch self {
        case .end: Kind.end.rawValue
        case .productData: Kind.productData.rawValue
        case .dynamicLocation: Kind.dynamicLocation.rawValue
        case .dependency: Kind.dependency.rawValue
        case .hash: Kind.hash.rawValue
        case .name: Kind.name.rawValue
        case .assetDependency: Kind.assetDependency.rawValue
        case .securityMode: Kind.securityMode.rawValue
        case .assetType: Kind.assetType.rawValue
        case .other(let type, _): type
        }
    }

    public var isEnd: Bool { if case .end = self { true } else { false } }

    var body: [UInt8] {
        var body: [UInt8] = []
        switch self {
        case .end(let padding): body = padding
        case .productData(let id, let version, let filler):
            body.appendLE(filler)
            body.appendLE(id)
            body.appendLE(version)
        case .dynamicLocation(let start, let load, let dynalib):
            body.appendLE(start)
            body.appendLE(load)
            body.appendLE(dynalib)
        case .dependency(let dependency, let target):
            body.append(dependency.function.rawValue)
            body.append(dependency.index)
            body.appendLE(dependency.version)
            body.appendLE(target)
        case .hash(let type, let digest):
            body.append(type)
            body.append(UInt8(truncatingIfNeeded: digest.count))
            body += digest
        case .name(let name): body = Array(name.utf8)
        case .assetDependency(let type, let hash, let name):
            body.append(type)
            body.append(UInt8(truncatingIfNeeded: hash.count))
            body += hash
            body += Array(name.utf8)
        case .securityMode(let mode, let certificate):
            body.append(mode)
            body += certificate
        case .assetType(let type): body = [type]
        case .other(_, let bytes): body = bytes
        }
        return body
    }

    public var encoded: [UInt8] {
        let body = self.body
        var bytes: [UInt8] = []
        bytes.appendLE(type)
        bytes.appendLE(UInt16(truncatingIfNeeded: body.count + Self.headerSize))
        return bytes + body
    }

    public var encodedLength: Int { body.count + Self.headerSize }

    /// Decodes a body whose type and bounds the list reader already checked.
    init(type: UInt16, body: [UInt8]) {
        switch Kind(rawValue: type) {
        case .end:
            self = .end(padding: body)
        case .productData where body.count == 6:
            self = .productData(id: body.u16le(at: 2)!, version: body.u16le(at: 4)!, filler: body.u16le(at: 0)!)
        case .dynamicLocation where body.count == 12:
            self = .dynamicLocation(moduleStart: body.u32le(at: 0)!, dynalibLoad: body.u32le(at: 4)!, dynalibStart: body.u32le(at: 8)!)
        case .dependency where body.count == 8:
            self = .dependency(
                ModuleDependency(function: ModuleFunction(rawValue: body[0]), index: body[1], version: body.u16le(at: 2)!),
                targetID: body.u32le(at: 4)!)
        case .hash where body.count >= 2 && Int(body[1]) == body.count - 2:
            self = .hash(type: body[0], digest: Array(body[2...]))
        case .name:
            self = .name(String(decoding: body, as: UTF8.self))
        case .assetDependency where body.count >= 2 && Int(body[1]) <= body.count - 2:
            let hashEnd = 2 + Int(body[1])
            self = .assetDependency(
                hashType: body[0], hash: Array(body[2..<hashEnd]),
                name: String(decoding: body[hashEnd...], as: UTF8.self))
        case .securityMode where body.count >= 1:
            self = .securityMode(mode: body[0], certificate: Array(body[1...]))
        case .assetType where body.count == 1:
            self = .assetType(body[0])
        default:
            self = .other(type: type, body: body)
        }
    }

    /// How a list of extensions ended.
    enum ListEnd: Equatable {
        /// An END extension closed it.
        case endMarker
        /// The region was used up exactly.
        case regionEnd
        /// An extension's length was below 4 or ran past the region, or the type was 0xFFFF.
        case malformed(offset: Int, reason: String)
    }

    /// Reads extensions in `bytes[offset..<limit]` until an END extension, the limit, or
    /// a malformed entry. Always advances by at least 4 bytes, so it cannot loop.
    static func readList(_ bytes: [UInt8], from offset: Int, limit: Int) -> (extensions: [ModuleExtension], next: Int, end: ListEnd) {
        var extensions: [ModuleExtension] = []
        var position = offset
        while position < limit {
            guard position + headerSize <= limit,
                  let type = bytes.u16le(at: position), let length = bytes.u16le(at: position + 2)
            else {
                return (extensions, position, .malformed(offset: position, reason: "extension header runs past the end of its region"))
            }
            if type == Kind.invalid.rawValue {
                return (extensions, position, .malformed(offset: position, reason: "extension type 0xffff (erased flash)"))
            }
            let total = Int(length)
            guard total >= headerSize else {
                return (extensions, position, .malformed(offset: position, reason: "extension length \(total) is shorter than its own header"))
            }
            guard position + total <= limit else {
                return (extensions, position, .malformed(offset: position, reason: "extension of \(total) bytes runs past the end of its region"))
            }
            let body = Array(bytes[(position + headerSize)..<(position + total)])
            let decoded = ModuleExtension(type: type, body: body)
            extensions.append(decoded)
            position += total
            if decoded.isEnd { return (extensions, position, .endMarker) }
        }
        return (extensions, position, .regionEnd)
    }
}

extension ModuleExtension: CustomStringConvertible {
    public var description: String {
        switch self {
        case .end(let padding): padding.isEmpty ? "end" : "end (+\(padding.count) padding)"
        case .productData(let id, let version, _): "product data: id \(id), version \(version)"
        case .dynamicLocation(let start, let load, let dynalib):
            "dynamic location: start \(hex(start)), dynalib load \(hex(load)), dynalib start \(hex(dynalib))"
        case .dependency(let dependency, let target): "dependency: \(dependency), target \(hex(target))"
        case .hash(let type, let digest): "hash (type \(type)): \(digest.hexString)"
        case .name(let name): "name: \(name)"
        case .assetDependency(_, let hash, let name): "asset dependency: \(name) \(hash.hexString)"
        case .securityMode(let mode, let certificate):
            "security mode \(mode)" + (certificate.isEmpty ? "" : ", certificate \(certificate.count) bytes")
        case .assetType(let type): "asset type \(type)"
        case .other(let type, let body): "extension \(hex(type)) (\(body.count) bytes)"
        }
    }
}
