import Foundation
import FuzzTargets
import Testing

/// Every fuzz target's seed corpus (Corpus/<target>/) and recorded crashes (Crashes/<target>/),
/// replayed through the target as libFuzzer feeds it: a seed keeps working, and a crash that
/// `Scripts/fuzz` found and that was copied into Crashes/ stays fixed. A trap or a failed
/// precondition ends the test run; a hang runs into the time limit.
@Suite("Fuzz targets replay their seeds and their crashes", .timeLimit(.minutes(5)))
struct FuzzTargetsTests {
    /// Seeds are meant to be small: the fuzzer grows its own corpus from them.
    static let seedLimit = 16 << 10

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// The inputs in `kind/target/`, by name; dotfiles (placeholders that keep a folder) are not inputs.
    static func inputs(_ kind: String, _ target: String) throws -> [URL] {
        let directory = folder.appendingPathComponent(kind).appendingPathComponent(target)
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test("Each seed and each recorded crash runs through the target", arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) async throws {
        let seeds = try Self.inputs("Corpus", target.rawValue)
        #expect(!seeds.isEmpty, "Tests/FuzzTargetsTests/Corpus/\(target.rawValue)/ holds no seed")
        for seed in seeds {
            let bytes = [UInt8](try Data(contentsOf: seed))
            #expect(bytes.count <= Self.seedLimit, "the seed \(seed.lastPathComponent) is \(bytes.count) bytes; keep seeds small")
            await Self.run(target, bytes)
        }
        for crash in try Self.inputs("Crashes", target.rawValue) {
            await Self.run(target, [UInt8](try Data(contentsOf: crash)))
        }
    }

    @Test("Every corpus and crash folder names a target")
    func foldersNameTargets() throws {
        let names = Set(FuzzTarget.allCases.map(\.rawValue))
        for kind in ["Corpus", "Crashes"] {
            let entries = try FileManager.default.contentsOfDirectory(atPath: Self.folder.appendingPathComponent(kind).path)
            for entry in entries where !entry.hasPrefix(".") && entry != "README.md" {
                #expect(names.contains(entry), "\(kind)/\(entry) is not a fuzz target; the targets are \(names.sorted().joined(separator: ", "))")
            }
        }
    }

    /// On a thread of its own: a target waits for its async work with a semaphore, which must
    /// not hold a thread of the cooperative pool that work runs on.
    static func run(_ target: FuzzTarget, _ bytes: [UInt8]) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                target.run(bytes)
                done.resume()
            }
            thread.start()
        }
    }
}
