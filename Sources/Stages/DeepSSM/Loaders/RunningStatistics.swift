import Foundation

/// Count, mean and sum of squared deviations of a stream of values, in double
/// precision, mergeable in any grouping (Chan, Golub & LeVeque's pairwise update),
/// so per-image statistics combine into global ones without cancellation.
struct RunningStatistics: Sendable, Equatable {
    private(set) var count = 0
    private(set) var mean = 0.0
    /// Σ (x − mean)².
    private(set) var m2 = 0.0

    init() {}

    /// Statistics of `values`, two-pass for accuracy.
    init(_ values: UnsafeBufferPointer<Float>) {
        guard !values.isEmpty else { return }
        var sum = 0.0
        for v in values { sum += Double(v) }
        let mean = sum / Double(values.count)
        var m2 = 0.0, correction = 0.0
        for v in values {
            let d = Double(v) - mean
            m2 += d * d
            correction += d
        }
        count = values.count
        self.mean = mean
        // Corrected two-pass formula: removes the rounding error left in `mean`.
        self.m2 = m2 - correction * correction / Double(values.count)
    }

    /// Adds one value (Welford).
    mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
    }

    /// Folds in the statistics of another part of the stream.
    mutating func merge(_ other: RunningStatistics) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let total = count + other.count
        let delta = other.mean - mean
        mean += delta * Double(other.count) / Double(total)
        m2 += other.m2 + delta * delta * Double(count) * Double(other.count) / Double(total)
        count = total
    }

    /// Population variance (divides by n).
    var populationVariance: Double { count > 0 ? max(m2, 0) / Double(count) : .nan }
    var populationStd: Double { populationVariance.squareRoot() }
}
