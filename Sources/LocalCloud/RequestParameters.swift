import Foundation
import NIOCore

/// A request's parameters, however the client encoded them. Particle's clients send the same
/// call three ways: particle-api-js JSON (`{"desired_firmware_version": null}`), the docs' curl
/// and pyparticleio `application/x-www-form-urlencoded` (`private=True&ttl=60`,
/// `desired_firmware_version=null`, `groups[]=a`), and multipart forms for files. The routes
/// read every value through the lenient accessors here, so all three mean the same.
package struct RequestParameters: Hashable, Sendable {
    /// One value as the body carried it: forms carry only text (and lists of text), JSON the rest.
    package indirect enum Value: Hashable, Sendable, Decodable {
        case null
        case bool(Bool)
        case integer(Int)
        case number(Double)
        case text(String)
        case list([Value])
        case object([String: Value])

        package init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .text(value)
            } else if let value = try? container.decode([Value].self) {
                self = .list(value)
            } else {
                self = .object(try container.decode([String: Value].self))
            }
        }
    }

    package var values: [String: Value]
    /// Multipart parts with a file name: their bytes and the name the client gave each.
    package var files: [String: [UInt8]]
    package var fileNames: [String: String]

    package init(values: [String: Value] = [:], files: [String: [UInt8]] = [:], fileNames: [String: String] = [:]) {
        self.values = values
        self.files = files
        self.fileNames = fileNames
    }

    /// A multipart form's fields (as text) and files.
    package init(form: RequestBodies.Form) {
        self.init(values: form.fields.mapValues(Value.text), files: form.files, fileNames: form.fileNames)
    }

    package var isEmpty: Bool { values.isEmpty && files.isEmpty }

    // MARK: application/x-www-form-urlencoded

    /// `a=b&c=d` (a request body, or a URL's query): `+` is a space, `%XX` a byte of UTF-8.
    /// `name[]=x` and `name[0]=x` (how qs and the docs write arrays) and a repeated name make a
    /// list; any other bracketed name stays as it is. Only the last bracket pair marks a list, so
    /// a name that itself holds brackets (`a[]b[]=x`) keeps them.
    package static func urlEncoded(_ text: Substring) throws(LocalCloudError) -> RequestParameters {
        var values: [String: Value] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let rawKey = try decoded(parts[0]), value = try decoded(parts.count > 1 ? parts[1] : "")
            var key = rawKey, listed = false
            if rawKey.hasSuffix("]"), let open = rawKey.lastIndex(of: "[") {
                let inner = rawKey[rawKey.index(after: open)..<rawKey.index(before: rawKey.endIndex)]
                if inner.allSatisfy(\.isASCIIDigit) {
                    key = String(rawKey[..<open])
                    listed = true
                }
            }
            switch values[key] {
            case nil: values[key] = listed ? .list([.text(value)]) : .text(value)
            case .list(let items)?: values[key] = .list(items + [.text(value)])
            case let single?: values[key] = .list([single, .text(value)])
            }
        }
        return RequestParameters(values: values)
    }

    static func decoded(_ text: Substring) throws(LocalCloudError) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        guard let plain = spaced.removingPercentEncoding else {
            throw .badRequest("the form is malformed: \"\(text.prefix(64))\" is not percent-encoded UTF-8")
        }
        return plain
    }

    // MARK: Lenient values

    /// Text, or a JSON number or bool written as text; nil when absent or null.
    package func string(_ key: String) throws(LocalCloudError) -> String? {
        guard let value = values[key] else { return nil }
        guard let text = try Self.scalarText(value, key) else { return nil }
        return text
    }

    /// A whole number from `3` or `"3"`; nil when absent or null.
    package func int(_ key: String) throws(LocalCloudError) -> Int? {
        guard let value = values[key] else { return nil }
        switch value {
        case .null: return nil
        case .integer(let number): return number
        case .number(let number):
            guard number.rounded() == number, let whole = Int(exactly: number) else { throw .badRequest("\(key) must be a whole number") }
            return whole
        case .text(let text):
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else { throw .badRequest("\(key) must be a whole number") }
            return number
        case .bool, .list, .object: throw .badRequest("\(key) must be a whole number")
        }
    }

    /// A whole number that may be cleared: `.some(nil)` for JSON null or the form's `null`
    /// (the docs unlock with `desired_firmware_version=null`) or empty value (what qs sends for
    /// a JavaScript null); nil when absent.
    package func nullableInt(_ key: String) throws(LocalCloudError) -> Int?? {
        guard let value = values[key] else { return nil }
        switch value {
        case .null: return .some(nil)
        case .text(let text) where text.isEmpty || text.lowercased() == "null": return .some(nil)
        default: return .some(try int(key))
        }
    }

    /// A bool from `true`, `"true"`, `"True"` (Python's `str(True)`, what pyparticleio sends),
    /// `"1"`, `1` and their opposites; nil when absent, null or empty.
    package func bool(_ key: String) throws(LocalCloudError) -> Bool? {
        guard let value = values[key] else { return nil }
        switch value {
        case .null: return nil
        case .bool(let flag): return flag
        case .integer(0): return false
        case .integer(1): return true
        case .text(let text):
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "": return nil
            case "true", "1": return true
            case "false", "0": return false
            default: throw .badRequest("\(key) must be true or false")
            }
        default: throw .badRequest("\(key) must be true or false")
        }
    }

    /// A list of text; a single value is a list of one, and an empty form value an empty list.
    package func strings(_ key: String) throws(LocalCloudError) -> [String]? {
        guard let value = values[key] else { return nil }
        switch value {
        case .null: return nil
        case .text(let text) where text.isEmpty: return []
        case .list(let items):
            var result: [String] = []
            for item in items {
                guard let text = try Self.scalarText(item, key) else { throw .badRequest("\(key) must be a list of text") }
                result.append(text)
            }
            return result
        default:
            guard let text = try Self.scalarText(value, key) else { return nil }
            return [text]
        }
    }

    static func scalarText(_ value: Value, _ key: String) throws(LocalCloudError) -> String? {
        switch value {
        case .null: return nil
        case .text(let text): return text
        case .integer(let number): return "\(number)"
        case .number(let number): return "\(number)"
        case .bool(let flag): return flag ? "true" : "false"
        case .list, .object: throw .badRequest("\(key) must be text")
        }
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
