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
        let verdict = Compatibility.check(module, on: board.platform, installed: try await table.modules().map(\.installed))
        if !verdict.isCompatible { throw BoardError(board: board.name, operation: "check \(image)", .hostGuard(verdict.problems)) }
    }
}
