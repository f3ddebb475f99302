/// Moving the board between its modes, as Device OS does on request.
public protocol ModeControl: BoardFacet {
    func reset() async throws
    func enterDFU() async throws
    func enterSafeMode() async throws
    func enterListeningMode() async throws
}
