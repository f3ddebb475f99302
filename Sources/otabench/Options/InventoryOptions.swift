import ArgumentParser

/// `--inventory`, for every command that finds its boards in an inventory.
struct InventoryOptions: ParsableArguments {
    @Option(help: "Inventory file (default: Boards/emulated.toml, else one emulated board per platform).",
            completion: .file(extensions: ["toml"]))
    var inventory: String?
}
