import Firmware
import Foundation
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// 30,000 random and mutated inputs: the reader must answer every one, with a module or a
/// typed error, and never trap or hang. (Coverage-guided fuzzing, `Scripts/fuzz module-file`,
/// goes further; this is the fixed set every test run checks.)
@Suite("Reader under random and mutated input", .timeLimit(.minutes(10)))
struct ReaderFuzzTests {
    static let inputCount = 30_000

    /// Real fixtures where present, plus built modules of every shape.
    static func seeds() throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        if Fixtures.directory != nil {
            seeds += try Fixtures.firmwareFiles().map { [UInt8](try Data(contentsOf: $0)) }.filter { !$0.isEmpty }
        }
        let boron = SampleModules.platform("boron")
        seeds.append(try SampleModules.userApp(for: SampleModules.platform("photon"), systemVersion: 3))
        seeds.append(try SampleModules.userApp(for: SampleModules.platform("p2"), systemVersion: 5301))
        seeds.append(try ModuleBuilder(platform: boron, function: .user, index: 2, version: 6, flags: [.compressed],
                                       payload: SampleModules.payload(3000)).build())
        seeds.append(try ModuleBuilder(platform: boron, function: .user, index: 2, version: 6, payload: SampleModules.payload(500),
                                       prefixExtensions: [.name("x"), .hash(type: 0, digest: SampleModules.payload(32))]).build())
        seeds.append(try ModuleBuilder.combine([
            ModuleBuilder(platform: boron, function: .system, index: 1, version: 5000, payload: SampleModules.payload(2000)),
            ModuleBuilder(platform: boron, function: .user, index: 2, version: 6, payload: SampleModules.payload(300)),
        ]))
        return seeds
    }

    static func mutate(_ seed: [UInt8], _ generator: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        // Big real images are cut down first so that thousands of them stay quick to check.
        if bytes.count > 64 << 10, Bool.random(using: &generator) {
            bytes = Array(bytes.prefix(Int.random(in: 0...(64 << 10), using: &generator)))
        }
        func anyOffset() -> Int { Int.random(in: 0..<max(bytes.count, 1), using: &generator) }
        func fieldOffset() -> Int {
            // Header and trailer fields are where absurd values do harm.
            let candidates = [0, 4, 8, 12, 0x184, 0x188, 0x200, 0x204, 0x20, 0x24, 24, 28, bytes.count - 6, bytes.count - 44, bytes.count - 66]
            return candidates.randomElement(using: &generator)! + Int.random(in: -2...2, using: &generator)
        }
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            switch Int.random(in: 0..<8, using: &generator) {
            case 0:  // bit flips
                for _ in 0..<Int.random(in: 1...16, using: &generator) where !bytes.isEmpty {
                    bytes[anyOffset()] ^= 1 << UInt8.random(in: 0...7, using: &generator)
                }
            case 1:  // truncation
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            case 2:  // absurd 32-bit value in a header or trailer field
                let offset = fieldOffset()
                let value = [UInt32.max, 0, 0x8000_0000, UInt32.random(in: 0...UInt32.max, using: &generator)]
                    .randomElement(using: &generator)!
                for shift in 0..<4 where offset + shift >= 0 && offset + shift < bytes.count {
                    bytes[offset + shift] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(shift)))
                }
            case 3:  // absurd 16-bit value: suffix size, extension type or length
                let offset = fieldOffset()
                let value = UInt16.random(in: 0...UInt16.max, using: &generator)
                if offset >= 0 && offset + 1 < bytes.count {
                    bytes[offset] = UInt8(truncatingIfNeeded: value)
                    bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
                }
            case 4:  // splice: the front of this input, the back of a random one
                let cut = Int.random(in: 0...bytes.count, using: &generator)
                let tail = Array(repeating: UInt8.random(in: 0...255, using: &generator), count: Int.random(in: 0...600, using: &generator))
                bytes = Array(bytes.prefix(cut)) + tail
            case 5:  // erased-flash padding
                bytes += Array(repeating: 0xFF, count: Int.random(in: 1...4096, using: &generator))
            case 6:  // a run of random bytes
                if !bytes.isEmpty {
                    let start = anyOffset()
                    for position in start..<min(bytes.count, start + Int.random(in: 1...64, using: &generator)) {
                        bytes[position] = UInt8.random(in: 0...255, using: &generator)
                    }
                }
            default:  // pure noise
                bytes = (0..<Int.random(in: 0...3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
        }
        return bytes
    }

    /// Reads an input and touches everything a caller would, checking the result is coherent.
    static func check(_ bytes: [UInt8]) -> Bool {
        do {
            let file = try ModuleFile(bytes: bytes)
            guard !file.modules.isEmpty else { return false }
            var end = 0
            for module in file.modules {
                guard module.offset == end, module.length > 0, module.offset + module.length <= bytes.count else { return false }
                end = module.offset + module.length
                _ = module.findings.map(\.description)
                _ = module.prefixExtensions.map(\.description) + (module.suffix?.extensions.map(\.description) ?? [])
                _ = (module.product, module.dependencies, module.crcOK, module.sha256OK, module.flags.names)
                if let platform = module.platform {
                    _ = Compatibility.check(module, on: platform, installed: [], policy: .userPartDependenciesOptional)
                }
                if module.isValid, !module.crcOK { return false }
            }
            return true
        } catch {
            return !error.description.isEmpty
        }
    }

    @Test("30,000 random and mutated inputs never crash or hang the reader", .timeLimit(.minutes(10)))
    func fuzz() async throws {
        let seeds = try Self.seeds()
        let workers = 2
        let state = NIOLockedValueBox((failed: [UInt64](), finished: 0, checked: 0, stopped: false))
        // Tens of seconds of CPU work: on threads of its own, so the cooperative pool stays free
        // for the tests that run beside it. Cancellable, so the time limit ends it on a machine
        // too busy to finish.
        let failures: [UInt64] = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                for worker in 0..<workers {
                    Thread.detachNewThread {
                        // Below the tests beside it, not so far below that a loaded machine starves
                        // it (nice 19 under `stress-ng --cpu 2` took hours).
                        // (On Linux the nice value belongs to the thread: who = 0 is this thread alone.)
                        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
                        var local: [UInt64] = []
                        var checked = 0
                        for caseNumber in stride(from: worker, to: Self.inputCount, by: workers) {
                            if checked % 512 == 0, state.withLockedValue({ $0.stopped }) { break }
                            var generator = SplitMix64(seed: UInt64(caseNumber))
                            let input = Self.mutate(seeds.randomElement(using: &generator)!, &generator)
                            if !Self.check(input) { local.append(UInt64(caseNumber)) }
                            checked += 1
                        }
                        let done: [UInt64]? = state.withLockedValue { state in
                            state.failed += local
                            state.checked += checked
                            state.finished += 1
                            return state.finished == workers ? state.failed : nil
                        }
                        if let done { continuation.resume(returning: done) }
                    }
                }
            }
        } onCancel: {
            state.withLockedValue { $0.stopped = true }
        }
        #expect(failures.isEmpty, "incoherent results for case seeds \(failures.prefix(20))")
        let checked = state.withLockedValue { $0.checked }
        #expect(checked == Self.inputCount, "stopped after \(checked) of \(Self.inputCount) inputs")
    }
}
