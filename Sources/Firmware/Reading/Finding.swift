/// Something a reader noticed about a module: an error makes the module invalid (a device
/// would refuse it), a warning does not.
public struct Finding: Hashable, Sendable {
    public enum Severity: String, Hashable, Sendable {
        case error, warning
    }

    public enum Kind: String, Hashable, Sendable {
        case lengthMismatch
        case crcMismatch
        case shaMismatch
        case suffixInvalid
        case suffixExtensionsMalformed
        case prefixExtensionsMalformed
        case compressedHeaderInvalid
        case formatInvalid
        case unknownPlatform
        case unknownFlags
        case combinedModuleMissing
        case tooManyCombinedModules
    }

    public var severity: Severity
    public var kind: Kind
    public var message: String

    public init(_ severity: Severity, _ kind: Kind, _ message: String) {
        self.severity = severity
        self.kind = kind
        self.message = message
    }

    public var isError: Bool { severity == .error }
}

extension Finding: CustomStringConvertible {
    public var description: String { severity == .error ? message : "warning: \(message)" }
}
