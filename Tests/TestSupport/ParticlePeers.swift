import Foundation

/// Particle's own JavaScript libraries (binary-version-reader, particle-usb, particle-api-js),
/// built for these machines and kept outside the repository like the fixtures:
/// `OTABENCH_PEERS`, else `../shared/peers` beside the checkout, as `particle-js.tar.xz`.
/// The tests run them unchanged against our reader, emulator and cloud; our own scripts that
/// drive them are in `Tests/TestSupport/Peers`.
public enum ParticlePeers {
    public static let archive: URL? = {
        var candidates: [URL] = []
        if let configured = ProcessInfo.processInfo.environment["OTABENCH_PEERS"], !configured.isEmpty {
            candidates.append(URL(fileURLWithPath: configured))
        }
        candidates.append(Fixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/peers"))
        return candidates.map { $0.appendingPathComponent("particle-js.tar.xz") }
            .first { FileManager.default.fileExists(atPath: $0.path) }
    }()

    public static let node: String? = ["/usr/bin/node", "/usr/bin/nodejs", "/usr/local/bin/node"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Under CI, missing peers or node are a failure, not a skip.
    public static var enabled: Bool {
        if (archive != nil && node != nil) || Fixtures.required { return true }
        announceSkip
        return false
    }

    private static let announceSkip: Void = {
        FileHandle.standardError.write(Data("""

            ************************************************************************
            * PARTICLE PEER TESTS SKIPPED: no ../shared/peers/particle-js.tar.xz   *
            * (or OTABENCH_PEERS) or no node. Our reader, emulator and cloud are   *
            * NOT checked against Particle's own libraries in this run.            *
            ************************************************************************

            """.utf8))
    }()

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The archive unpacked once per machine and archive: into a folder named after its size
    /// and time, filled under a temporary name and renamed, so test processes running at once
    /// never see half of it.
    public static func folder() throws -> URL {
        guard let archive else { throw Unavailable(description: "particle-js.tar.xz not found: set OTABENCH_PEERS or put shared/peers beside the checkout") }
        let attributes = try FileManager.default.attributesOfItem(atPath: archive.path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let time = Int((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        let target = FileManager.default.temporaryDirectory
            .appendingPathComponent("otabench-peers-\(getuid())-\(size)-\(time)")
        if FileManager.default.fileExists(atPath: target.appendingPathComponent("node_modules").path) { return target }
        let staging = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-xJf", archive.path, "-C", staging.path]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            try? FileManager.default.removeItem(at: staging)
            throw Unavailable(description: "tar could not unpack \(archive.path) (status \(tar.terminationStatus))")
        }
        if rename(staging.path, target.path) != 0 {
            // Another process got there first; its copy is as good.
            try? FileManager.default.removeItem(at: staging)
        }
        return target
    }

    /// One of our scripts in `Tests/TestSupport/Peers`.
    public static func script(_ name: String) -> String {
        Fixtures.repositoryRoot.appendingPathComponent("Tests/TestSupport/Peers").appendingPathComponent(name).path
    }

    public struct Output: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
        public var lines: [String] { standardOutput.split(separator: "\n").map(String.init) }
    }

    /// Runs `script` with node, the peers' modules on NODE_PATH (and Debian's, for the REST
    /// client's fetch and form libraries); ends it after `timeout`.
    public static func run(_ script: String, _ arguments: [String] = [], environment: [String: String] = [:],
                           timeout: Duration = .seconds(120)) async throws -> Output {
        guard let node else { throw Unavailable(description: "node is not installed") }
        let folder = try folder()
        var variables = ProcessInfo.processInfo.environment
        variables["NODE_PATH"] = [folder.appendingPathComponent("node_modules").path, "/usr/share/nodejs"].joined(separator: ":")
        variables["OTABENCH_PEERS_DIR"] = folder.path
        for (key, value) in environment { variables[key] = value }
        let result = try await ToolProcess.run(node, ["--experimental-require-module", script] + arguments,
                                               environment: variables, timeout: timeout)
        return Output(status: result.status, standardOutput: result.output, standardError: result.errors)
    }
}
