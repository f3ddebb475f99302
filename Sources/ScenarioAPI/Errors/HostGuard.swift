import Firmware

/// The host-side guard: the same compatibility rules the device applies (§4), checked
/// against the board's module table before a byte is sent, strictly (every dependency).
/// Everything that sends an image to a board asks it here.
public enum HostGuard {
    /// Throws a `BoardError` with the `.hostGuard` cause when the board would refuse `image`.
    public static func check(_ image: FirmwareImage, for board: some Board) async throws {
        guard let table = board.facet((any ModuleTable).self) else {
            throw BoardError(board: board.name, operation: "check \(image)", .missingFacet("ModuleTable"))
        }
        guard let module = image.module else {
            throw BoardError(board: board.name, operation: "check \(image)", .hostGuard([.corrupt(reasons: ["not a Particle module"])]))
        }
        let problems = problems(module, on: board.platform, installed: try await table.modules().map(\.installed))
        if !problems.isEmpty { throw BoardError(board: board.name, operation: "check \(image)", .hostGuard(problems)) }
    }

    /// Why a board of `platform` would refuse `module`. `installed` is its module table, or nil
    /// when the board cannot tell (in DFU mode): then only what the platform itself decides
    /// (platform, slot, size, integrity) is checked, not dependencies.
    public static func problems(_ module: FirmwareModule, on platform: Platform, installed: [InstalledModule]?) -> [Incompatibility] {
        var problems = Compatibility.check(module, on: platform, installed: installed ?? []).problems
        if installed == nil {
            problems.removeAll {
                switch $0 {
                case .unmetDependency, .breaksInstalledModule: true
                default: false
                }
            }
        }
        return problems
    }
}
