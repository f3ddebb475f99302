import Bench
import Boards
import Power

/// `inventory`: the bytes are an inventory file (TOML, `Boards/*.toml`), to `Inventory.parse`.
/// A refusal must name the file; an inventory it accepts must keep the promises the parser
/// makes: unique non-empty names, a device id on every real board, power commands or a hub port
/// (1…255) only on real boards and never both, power timeouts above zero, power-off times and
/// apply windows within an hour, a cloud timeout of 1…3600 seconds.
enum InventoryTarget {
    /// Relative firmware folders resolve against this; nothing is there.
    static let file = "/nonexistent/otabench-fuzz/inventory.toml"

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let inventory: Inventory
        do throws(InventoryError) {
            inventory = try Inventory.parse(text, file: file)
        } catch {
            precondition(error.file == file, "an inventory error names \(error.file), not the file read")
            _ = error.description
            return
        }
        var names: Set<String> = []
        for entry in inventory.entries {
            precondition(!entry.name.isEmpty && names.insert(entry.name).inserted, "the inventory took the board name \(entry.name.debugDescription) twice or empty")
            if !entry.emulated {
                precondition(entry.deviceID?.count == 24, "the real board \(entry.name) has the device id \(String(describing: entry.deviceID))")
            }
            switch entry.power {
            case let .commands(on, off, timeout):
                precondition(!entry.emulated && !on.isEmpty && !off.isEmpty, "\(entry.name): power commands on an emulated board, or empty")
                precondition(timeout > .zero, "\(entry.name): power timeout \(timeout)")
            case let .hubPort(_, port):
                precondition(!entry.emulated && (1...255).contains(port), "\(entry.name): hub port \(port) (emulated: \(entry.emulated))")
            case nil:
                break
            }
            for window in [entry.powerOffTime, entry.applyWindow] {
                precondition(window >= .zero && window <= .seconds(3600), "\(entry.name): \(window) for a power-off time or apply window")
            }
        }
        let timeout = inventory.cloud.timeout
        precondition(timeout >= .seconds(1) && timeout <= .seconds(3600), "the cloud timeout is \(timeout)")
    }
}
