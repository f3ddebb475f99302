import ArgumentParser
import Bench
import Foundation

/// `--lease-dir`, for every command that drives a board: one lease per board per host,
/// whichever user or command asks.
struct LeaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Where board leases are kept, for every user of the host (default: $OTABENCH_LEASE_DIR, else \(BoardLease.hostDirectory)).",
                               valueName: "DIR"))
    var leaseDir: String?

    var directory: String { BenchSetup.leaseDirectory(leaseDir) }

    /// Takes the board's lease for the command's whole life, or stops with exit 2 saying who has it.
    func take(_ key: String, board: String, verb: String) throws -> BoardLease {
        do {
            let lease = try BoardLease(board: key, directory: directory)
            if let previous = lease.tookOverFrom {
                FileHandle.standardError.write(Data("\(verb): took over the lease of \(board) from a holder that is gone (\(previous))\n".utf8))
            }
            return lease
        } catch .held(_, let holder, _) {
            reportError("\(verb): \(board) is leased by \(holder); wait for it to finish, or stop it")
            throw ExitStatus.couldNotRun.exitCode
        } catch {
            reportError("\(verb): \(error); fix the lease folder or give --lease-dir")
            throw ExitStatus.couldNotRun.exitCode
        }
    }
}
