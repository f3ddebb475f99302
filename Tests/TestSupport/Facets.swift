import ScenarioAPI
import Testing

extension Board {
    /// The board's facet of type `F`; the test fails (and stops) where the board lacks it.
    public func required<F>(_ type: F.Type, sourceLocation: SourceLocation = #_sourceLocation) throws -> F {
        try #require(facet(type), "\(name) has no \(type)", sourceLocation: sourceLocation)
    }
}
