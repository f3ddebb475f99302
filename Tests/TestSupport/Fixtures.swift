import Foundation

/// The real Particle binaries the tests read. They live outside the repository (they are
/// not ours to commit): `OTABENCH_FIXTURES`, else `../shared/fixtures` beside the checkout.
public enum Fixtures {
    /// The folder holding `firmware/`, or nil when there is none.
    public static let directory: URL? = {
        var candidates: [URL] = []
        if let configured = ProcessInfo.processInfo.environment["OTABENCH_FIXTURES"], !configured.isEmpty {
            candidates.append(URL(fileURLWithPath: configured))
        }
        candidates.append(repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("firmware").path) }
    }()

    public static var firmwareDirectory: URL? { directory?.appendingPathComponent("firmware") }

    /// Under CI a missing fixture folder is a failure, not a skip.
    public static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether fixture tests run: they do when the fixtures exist, and under CI (where they
    /// then fail). Otherwise they are skipped, and this says so on stderr.
    public static var enabled: Bool {
        if directory != nil || required { return true }
        announceSkip
        return false
    }

    private static let announceSkip: Void = {
        FileHandle.standardError.write(Data("""

            ************************************************************************
            * FIXTURE TESTS SKIPPED: no ../shared/fixtures/firmware beside the      *
            * checkout and OTABENCH_FIXTURES is not set. The reader is NOT checked  *
            * against real Particle binaries in this run.                           *
            ************************************************************************

            """.utf8))
    }()

    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "fixture folder not found: set OTABENCH_FIXTURES or put shared/fixtures/firmware beside the checkout"
        }
    }

    /// The firmware fixture folder; throws when it is missing.
    public static func requireFirmwareDirectory() throws -> URL {
        guard let folder = firmwareDirectory else { throw Missing() }
        return folder
    }

    /// Every `.bin` file of the firmware fixtures, sorted by name.
    public static func firmwareFiles() throws -> [URL] {
        let folder = try requireFirmwareDirectory()
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "bin" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    public static func bytes(of name: String) throws -> [UInt8] {
        let url = try requireFirmwareDirectory().appendingPathComponent(name)
        return [UInt8](try Data(contentsOf: url))
    }

    /// The checkout this test was built from.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()
}
