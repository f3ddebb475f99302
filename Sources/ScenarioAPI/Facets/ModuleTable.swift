/// The board's module table, as its Device OS reports it.
public protocol ModuleTable: BoardFacet {
    func modules() async throws -> [ModuleSummary]
    /// The user application the board runs, when it runs one.
    func runningApp() async throws -> ModuleSummary?
}
