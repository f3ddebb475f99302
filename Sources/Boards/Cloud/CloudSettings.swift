import Cloud
import Foundation

/// The inventory's `[cloud]` table: which cloud API updates real boards, and the environment
/// variable that holds its token (never the token itself: inventories get committed).
///
/// ```toml
/// [cloud]
/// api = "https://api.particle.io"     # the default; another base URL for another cloud
/// token-env = "PARTICLE_ACCESS_TOKEN" # the variable holding the access token
/// timeout = 300                       # seconds from the flash request to the board back online
/// ```
public struct CloudSettings: Hashable, Sendable {
    public var api: String?
    public var tokenVariable: String
    public var timeout: Duration

    public init(api: String? = nil, tokenVariable: String = "PARTICLE_ACCESS_TOKEN", timeout: Duration = .seconds(300)) {
        self.api = api
        self.tokenVariable = tokenVariable
        self.timeout = timeout
    }

    /// The credentials, when the token's variable is set: the inventory's API, else
    /// `PARTICLE_API_BASE_URL`, else Particle's.
    public func credentials(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> CloudCredentials? {
        guard let token = environment[tokenVariable], !token.isEmpty else { return nil }
        return CloudCredentials(baseURL: api ?? environment["PARTICLE_API_BASE_URL"] ?? "https://api.particle.io", token: token)
    }

    /// The cloud path for a real board, when there are credentials.
    public func flash(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> CloudFlash? {
        credentials(environment).map { CloudFlash(client: CloudClient(credentials: $0), timeout: timeout) }
    }
}
