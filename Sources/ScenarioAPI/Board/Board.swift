import Firmware

/// One board as a scenario sees it: who it is, what it runs, and its facets. Whatever drives it
/// (an emulated board in the process, a board on USB) shows only here and in which facets it has:
/// a scenario never names the kind.
public protocol Board: Sendable {
    var name: String { get }
    var platform: Platform { get }
    var deviceID: String { get }
    /// What the board can do, one facet each. A board lists a facet only when it can really do
    /// it, so its capabilities follow from the list and the runner plans nothing it cannot run.
    var facets: [any BoardFacet] { get }

    func mode() async -> BoardMode
    /// Waits until the board runs Device OS again (after a reset, an update, a power cycle).
    func waitUntilUp(timeout: Duration) async throws -> BoardMode
}

extension Board {
    /// The facet of type `F`, when the board has it.
    public func facet<F>(_ type: F.Type) -> F? {
        for facet in facets { if let facet = facet as? F { return facet } }
        return nil
    }

    /// What the board can do: the facets it has, by name.
    public var capabilities: Set<Capability> { Set(Capability.allCases.filter { $0.isPresent(on: self) }) }

    /// What the host's lease is named for: the device id, which every inventory of the host
    /// shares for a board, whatever name it gives it.
    public var leaseKey: String { deviceID.isEmpty ? "board-\(name)" : deviceID.lowercased() }

    /// A new case starts: every facet that keeps something from the case before (a power cut's
    /// record, events not taken, console lines) forgets it. Nothing a case records may come from
    /// the case before it.
    public func beginCase() async {
        for facet in facets { await (facet as? CaseScoped)?.beginCase() }
    }
}
