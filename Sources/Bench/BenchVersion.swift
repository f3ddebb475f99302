/// The otabench version that reports record as their provenance.
public enum BenchVersion {
    public static let current = "0.2.0"
}
