import Firmware

/// The host-side guard: the same compatibility rules the device applies (§4), checked
/// against the board's module table before a byte is sent, strictly (every dependency).
public enum HostGuard {
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var board: String
        public var image: String
        public var problems: [Incompatibility]
        public var description: String {
            "refusing to send \(image) to \(board): " + problems.map(\.description).joined(separator: "; ")
        }
    }

    public static func check(_ image: FirmwareImage, for board: any Board) async throws {
        guard let module = image.module else {
            throw Refusal(board: board.name, image: image.label, problems: [.corrupt(reasons: ["not a Particle module"])])
        }
        let installed = try await board.modules().map(\.installed)
        let verdict = Compatibility.check(module, on: board.platform, installed: installed)
        if !verdict.isCompatible { throw Refusal(board: board.name, image: image.label, problems: verdict.problems) }
    }
}
