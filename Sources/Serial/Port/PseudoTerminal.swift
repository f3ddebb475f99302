import CSerialPort
import Glibc
import Synchronization

/// A pseudo-terminal pair: the master side, which plays the board, and the slave's path,
/// which a host program opens as it would /dev/ttyACM0.
///
/// The pair keeps a descriptor of its own on the slave side, in raw mode: without it the
/// master would see a hang-up whenever no host has the port open, and the slave's default
/// echo would send the board's own output back to it.
public final class PseudoTerminal: Sendable {
    public let slavePath: String
    /// The board's side.
    public let master: SerialPort
    private let heldSlave: Int32
    private let hungUp = Atomic(false)

    /// `bufferLimit`: how much the board's side holds unread before it holds the host back.
    public init(bufferLimit: Int = 16 << 20) throws(SerialPortError) {
        var name = [CChar](repeating: 0, count: 128)
        let master = otabench_open_pseudo_terminal(&name, UInt(name.count))
        guard master >= 0 else { throw .system("/dev/ptmx", "open a pseudo-terminal") }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Through the master, not by path: no other pseudo-terminal can take the path between
        // the two opens, and umockdev's preload, which answers termios requests on anything
        // opened under /dev itself ("inappropriate ioctl"), leaves the descriptor alone.
        let slave = otabench_open_pseudo_terminal_peer(master, path)
        guard slave >= 0, otabench_serial_configure_raw(slave, 9600) == 0 else {
            let error = SerialPortError.system(path, "configure the pseudo-terminal")
            if slave >= 0 { Glibc.close(slave) }
            Glibc.close(master)
            throw error
        }
        self.slavePath = path
        self.heldSlave = slave
        self.master = SerialPort(adopting: master, path: path + " (master)", bufferLimit: bufferLimit)
    }

    /// Hangs the line up: a host reading the slave sees the device leave, as when a board resets.
    public func hangUp() {
        guard !hungUp.exchange(true, ordering: .acquiringAndReleasing) else { return }
        master.closeNow()
        Glibc.close(heldSlave)
    }

    /// Bytes the board sent that no host has read yet.
    public func unreadByHost() -> Int { max(0, Int(otabench_serial_unread(heldSlave))) }

    /// What the host at the other end set the line to: 14400 asks a board for DFU mode (§7).
    public func hostBitRate() -> Int? { try? master.bitRate() }

    deinit { hangUp() }
}
