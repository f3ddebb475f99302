/// One thing a board can do. Each facet is small, the way labgrid splits a target into
/// protocols; a board has it only when it can really do it.
public protocol BoardFacet: Sendable {}

/// A facet that keeps something per case (a power cut's record, events, console lines) and
/// forgets it when the runner starts the next case.
public protocol CaseScoped: Sendable {
    func beginCase() async
}
