// The libFuzzer entry point for the fuzz targets of Sources/FuzzTargets. Built with
// `swift build --sanitize=fuzzer --sanitize=address --product otabench-fuzz` (Scripts/fuzz
// does it), run as `OTABENCH_FUZZ_TARGET=module-file otabench-fuzz [libFuzzer flags] CORPUS…`.
// libFuzzer brings its own `main`; this file only defines the functions it calls.
import Foundation
import FuzzTargets

/// The target every input of this run goes to, read from the environment once. A lazily
/// initialised static rather than a top-level `let`: libFuzzer's `main` never runs this
/// file's top-level code.
enum Selection {
    static let target: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["OTABENCH_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            let problem = name.isEmpty ? "OTABENCH_FUZZ_TARGET is not set" : "OTABENCH_FUZZ_TARGET names no target: \"\(name)\""
            FileHandle.standardError.write(Data("otabench-fuzz: \(problem); the targets are \(known)\n".utf8))
            exit(2)
        }
        return target
    }()
}

/// Before the first input: an unknown target stops the run before any fuzzing.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    _ = Selection.target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    Selection.target.run(bytes)
    return 0
}
