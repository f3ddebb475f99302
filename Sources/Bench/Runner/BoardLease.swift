import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive hold on a board across processes: an flock(2) on a file named for the
/// board. The kernel drops it when the holder dies, however it dies; the file says who holds it.
public final class BoardLease: Sendable {
    public let board: String
    public let path: String
    private let descriptor: Int32

    public struct Held: Error, Sendable, CustomStringConvertible {
        public var board: String
        public var holder: String
        public var description: String { "\(board) is leased by \(holder)" }
    }

    /// Takes the lease or throws `Held` naming the holder. Never waits.
    public init(board: String, directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let safe = board.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        path = (directory as NSString).appendingPathComponent(String(safe) + ".lease")
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Held(board: board, holder: "nobody we can see: cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            throw Held(board: board, holder: holder?.isEmpty == false ? holder! : "another process")
        }
        let note = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), \(CommandLine.arguments.joined(separator: " ")), since \(Date().formatted(.iso8601))\n"
        _ = ftruncate(descriptor, 0)
        _ = note.withCString { write(descriptor, $0, strlen($0)) }
        self.board = board
        self.descriptor = descriptor
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
