import Bench

/// The scenario library. Scenarios arrive with the scenario API (the runner issue); this
/// file keeps the target in the build so the layering is fixed from the start.
public enum ScenarioLibrary {
    public static let benchVersion = BenchVersion.current
}
