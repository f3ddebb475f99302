import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file in one rename: a reader sees the old file or the new one, never half of
/// either, and a process killed mid-write leaves the old file as it was.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = (folder.isEmpty ? "." : folder) + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw AtomicFileError(path: path, operation: "create \(temporary)", code: errno) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBufferPointer { Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            guard count > 0 else {
                let code = errno
                close(descriptor)
                unlink(temporary)
                throw AtomicFileError(path: path, operation: "write", code: code)
            }
            written += count
        }
        // On disk before the rename, or a crash could leave the new name on an empty file.
        guard fsync(descriptor) == 0, close(descriptor) == 0 else {
            let code = errno
            unlink(temporary)
            throw AtomicFileError(path: path, operation: "sync", code: code)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw AtomicFileError(path: path, operation: "rename into place", code: code)
        }
    }
}

public struct AtomicFileError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var code: Int32

    public var description: String { "cannot write \(path) (\(operation)): \(String(cString: strerror(code)))" }
}
