import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive hold on a board across every process and user of the host: an flock(2) on a
/// file named for the board, in one folder the whole host shares. The kernel drops the lock
/// when the holder dies, however it dies; the file says who holds it.
public final class BoardLease: Sendable {
    /// Where every command of every user looks unless told otherwise. /run/lock is the
    /// host's own lock folder: cleared at boot, writable by all, sticky.
    public static let hostDirectory = "/run/lock/otabench"

    public let board: String
    public let path: String
    /// What the file said when the lease was taken: a holder that died without letting go.
    public let tookOverFrom: String?
    private let descriptor: Int32

    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// Someone else holds it: the board is busy, not broken.
        case held(board: String, holder: String, path: String)
        /// The lease cannot be checked at all: an error to stop on, never a reason to skip.
        case unusable(board: String, path: String, reason: String)

        public var description: String {
            switch self {
            case .held(let board, let holder, _): "\(board) is leased by \(holder)"
            case .unusable(let board, let path, let reason):
                "cannot check the lease of \(board) at \(path): \(reason)"
            }
        }
    }

    /// Takes the lease, or throws `held` naming the holder, or `unusable`. Never waits.
    public init(board: String, directory: String = BoardLease.hostDirectory) throws(Failure) {
        let safe = String(board.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        let path = (directory as NSString).appendingPathComponent(safe + ".lease")
        func unusable(_ reason: String) -> Failure { .unusable(board: board, path: path, reason: reason) }
        try Self.prepare(directory, unusable: unusable)

        // Without O_CREAT first: with protected_regular set, O_CREAT on another user's file in
        // a sticky folder is refused even where the file's own mode allows the open.
        var descriptor = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        if descriptor < 0, errno == ENOENT {
            descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o666)
            if descriptor >= 0 {
                // Whoever made it, every user of the boards must be able to take it later.
                fchmod(descriptor, 0o666)
            } else if errno == EEXIST {
                descriptor = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            }
        }
        guard descriptor >= 0 else {
            let error = errno
            throw unusable(String(cString: strerror(error))
                           + (error == EACCES ? "; the lease files must be writable by every user of the boards (chmod 0666, folder 1777)" : ""))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw unusable("it is not a regular file")
        }
        if info.st_uid == getuid(), info.st_mode & 0o777 != 0o666 { fchmod(descriptor, 0o666) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let error = errno
            defer { close(descriptor) }
            guard error == EWOULDBLOCK else { throw unusable("flock: \(String(cString: strerror(error)))") }
            let holder = Self.note(descriptor)
            throw .held(board: board, holder: holder ?? "another process (it has not said who yet)", path: path)
        }
        // A note left behind means its writer died holding the lease: the kernel let go, say so.
        tookOverFrom = Self.note(descriptor)
        let note = "pid \(getpid()) (uid \(getuid())) on \(ProcessInfo.processInfo.hostName), "
            + "\(CommandLine.arguments.joined(separator: " ")), since \(Date().formatted(.iso8601))\n"
        _ = ftruncate(descriptor, 0)
        _ = note.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        self.board = board
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Makes the shared folder if it is missing, open to every user (sticky, like /run/lock).
    private static func prepare(_ directory: String, unusable: (String) -> Failure) throws(Failure) {
        var info = stat()
        if stat(directory, &info) != 0 {
            guard errno == ENOENT else { throw unusable("the lease folder: \(String(cString: strerror(errno)))") }
            let parent = (directory as NSString).deletingLastPathComponent
            if !parent.isEmpty, stat(parent, &info) != 0 {
                throw unusable("its parent folder \(parent) does not exist; give --lease-dir an existing place")
            }
            if mkdir(directory, 0o1777) != 0, errno != EEXIST {
                throw unusable("cannot make the lease folder: \(String(cString: strerror(errno)))")
            }
            // The umask took bits away; the folder is the host's, not its first user's.
            chmod(directory, 0o1777)
            guard stat(directory, &info) == 0 else { throw unusable("the lease folder: \(String(cString: strerror(errno)))") }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw unusable("the lease folder \(directory) is not a folder") }
    }

    private static func note(_ descriptor: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
