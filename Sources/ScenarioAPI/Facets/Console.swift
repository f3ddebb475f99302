import Foundation

/// What the board prints.
public protocol Console: BoardFacet {
    /// Everything the board printed since the current case began.
    func lines() async -> [String]
    /// The file its console is captured to, when it is read from a serial port.
    var log: URL? { get async }
    /// Waits for a line containing `text`, printed after the case's first `after` lines; returns it.
    func waitForLine(containing text: String, after: Int, timeout: Duration) async throws -> String
}
