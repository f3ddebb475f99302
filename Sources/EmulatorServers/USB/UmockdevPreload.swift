import Foundation

/// umockdev's preload library in this process. umockdev sends a device's uevents (the hotplug
/// other processes' libudev monitors and libusb hear) only from a process that runs under it:
/// `uevent_sender_send` looks the device up through libudev first, which finds the testbed's
/// /sys only under the preload (uevent_sender.c@0.17.16:247), and `add_from_string` sends its
/// "add" only in a mock environment (umockdev.vala:1396). So a server that others are to see
/// come and go runs itself under it.
public enum UmockdevPreload {
    public static let library = "libumockdev-preload.so.0"
    /// Set on the re-executed process: a second time without the library loaded means the
    /// dynamic linker could not load it ("cannot be preloaded … ignored") and carried on.
    static let marker = "OTABENCH_UMOCKDEV_REEXEC"

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Asked for and still not loaded: the umockdev package (which ships it) is missing.
        case notLoadable
        case exec(errno: Int32)

        public var description: String {
            switch self {
            case .notLoadable: "\(UmockdevPreload.library) could not be preloaded: install the umockdev package"
            case .exec(let errno): "could not run otabench again under \(UmockdevPreload.library): \(String(cString: strerror(errno)))"
            }
        }
    }

    /// Whether the library is mapped into this process. Read from /proc/self/maps rather than
    /// asked of umockdev: `umockdev_in_mock_environment` keeps its first answer, which is false
    /// before a testbed exists.
    public static var isLoaded: Bool {
        // Read to the end: /proc reports a size of 0, which a whole-file read takes at its word.
        guard let maps = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() else { return false }
        return String(decoding: maps, as: UTF8.self).contains("libumockdev-preload")
    }

    /// Returns when the library is loaded; otherwise executes this program again, with the same
    /// arguments, under it, and does not return.
    public static func ensureLoaded(arguments: [String] = CommandLine.arguments) throws(Failure) {
        if isLoaded {
            // An inherited testbed (a parent's own) is not ours: our testbed sets its own.
            unsetenv("UMOCKDEV_DIR")
            unsetenv(marker)
            return
        }
        if getenv(marker) != nil { throw .notLoadable }
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = ([library] + (environment["LD_PRELOAD"].map { [$0] } ?? [])).joined(separator: ":")
        environment.removeValue(forKey: "UMOCKDEV_DIR")
        environment[marker] = "1"
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve("/proc/self/exe", argv, envp)
        throw .exec(errno: errno)
    }
}
