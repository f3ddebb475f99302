/// Why a board operation failed, naming the board.
public struct BoardError: Error, Hashable, Sendable, CustomStringConvertible {
    public var board: String
    public var operation: String
    public var reason: String

    public init(board: String, operation: String, reason: String) {
        self.board = board
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(board): \(operation): \(reason)" }
}
