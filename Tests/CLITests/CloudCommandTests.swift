import Foundation
import TestSupport
import Testing

@Suite("otabench cloud serve")
struct CloudCommandTests {
    @Test("Serves on loopback, prints the client's environment, answers curl, stops cleanly at SIGINT; a taken port is exit 2")
    func serve() throws {
        let folder = try temporaryFolder("cloud-serve")
        let (server, lines) = try OtabenchProcess.serve(
            ["cloud", "serve", "--port", "0", "--db", folder.appendingPathComponent("cloud.sqlite").path, "--token", "t0ken"],
            ready: "serving the local cloud")
        let base = try #require(lines.first { $0.hasPrefix("PARTICLE_API_BASE_URL=http://127.0.0.1:") }?.dropFirst("PARTICLE_API_BASE_URL=".count))
        #expect(lines.contains("PARTICLE_ACCESS_TOKEN=t0ken"))

        let answer = try ToolProcess.run("/usr/bin/curl", ["-s", "-w", " %{http_code}", "-H", "Authorization: Bearer t0ken", "\(base)/v1/products/none/groups"])
        #expect(answer.output == "{\"error\":\"no product none\",\"ok\":false} 404", "\(answer.output)")
        let port = try #require(base.split(separator: ":").last.map(String.init))
        let taken = try OtabenchProcess.run(["cloud", "serve", "--port", port, "--db", folder.appendingPathComponent("other.sqlite").path])
        #expect(taken.status == 2 && taken.standardError.contains("Address already in use"), "\(taken.standardError)")

        server.interrupt()
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
    }
}
