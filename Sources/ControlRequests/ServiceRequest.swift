/// The service `bRequest` values of Particle's vendor control-request transport (reference §6.1).
public enum ServiceRequest: UInt8, Hashable, Sendable {
    case initialize = 1
    case check = 2
    case send = 3
    case receive = 4
    case reset = 5
}

/// The status a service reply carries (reference §6.1).
public enum ServiceStatus: UInt16, Hashable, Sendable {
    case ok = 0
    case error = 1
    case pending = 2
    case busy = 3
    case noMemory = 4
    case notFound = 5
}
