import Foundation
import Hummingbird

/// The account side: the token grant, the user, the products. The local cloud has one account,
/// whoever holds its access token.
extension LocalCloudServer {
    /// What a token grant answers: Particle's tokens last 90 days.
    struct TokenGrant: Encodable {
        var accessToken: String
        var tokenType = "bearer"
        var expiresIn = 7_776_000
        var refreshToken: String

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case refreshToken = "refresh_token"
        }
    }

    struct User: Encodable {
        struct AccountInfo: Encodable {
            var firstName = "otabench"
            var lastName = "bench"
            var businessAccount = false

            enum CodingKeys: String, CodingKey {
                case firstName = "first_name"
                case lastName = "last_name"
                case businessAccount = "business_account"
            }
        }

        struct MFA: Encodable { var enabled = false }

        var username = LocalCloudAccount.username
        var subscriptionIDs: [Int] = []
        var accountInfo = AccountInfo()
        var scimProvisioned = false
        var noPassword = false
        var mfa = MFA()
        var wifiDeviceCount: Int
        var cellularDeviceCount: Int

        enum CodingKeys: String, CodingKey {
            case username, mfa
            case subscriptionIDs = "subscription_ids"
            case accountInfo = "account_info"
            case scimProvisioned = "scim_provisioned"
            case noPassword = "no_password"
            case wifiDeviceCount = "wifi_device_count"
            case cellularDeviceCount = "cellular_device_count"
        }
    }

    func addAccountRoutes(_ router: Router<BasicRequestContext>) {
        let server = self
        // The password grant: any username, the cloud's access token as the password, and the
        // answer is that token. pyparticleio posts to /v1/devices/oauth/token (its base path
        // already ends in /devices); answered too.
        for path in AccessTokenMiddleware.open {
            router.post(RouterPath(path)) { request, _ in
                try await server.answer {
                    let credentials = try RequestBodies.login(try await server.parameters(request))
                    guard credentials.password == server.token else { throw LocalCloudError.invalidGrant("User credentials are invalid") }
                    return TokenGrant(accessToken: server.token, refreshToken: "otabench-local-refresh")
                }
            }
        }
        router.get("/v1/user") { _, _ in
            try await server.answer {
                let devices = try server.store.devices()
                let cellular = devices.filter(\.cellular).count
                return User(wifiDeviceCount: devices.count - cellular, cellularDeviceCount: cellular)
            }
        }
        router.get("/v1/products") { _, _ in
            try await server.answer { ["products": try server.store.products()] }
        }
        router.get("/v1/products/:product") { _, context in
            try await server.answer { ["product": try server.store.product(try server.product(context))] }
        }
    }
}
