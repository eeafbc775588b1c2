import Foundation

/// Seeded permutations for splitting a pool and ordering each epoch's batches:
/// Fisher–Yates driven by SplitMix64 (Steele, Lea & Flood 2014), with unbiased
/// bounded draws, so the same seed gives the same order on every machine.
enum SeededOrder {
    /// A permutation of `0..<count`.
    static func permutation(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        var state = seed
        guard count > 1 else { return order }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(bounded(UInt64(i + 1), &state))
            order.swapAt(i, j)
        }
        return order
    }

    /// The seed of epoch `epoch` derived from a run's seed: independent streams per epoch,
    /// so a resumed run reproduces the order of any epoch without replaying earlier ones.
    static func epochSeed(_ seed: UInt64, epoch: Int) -> UInt64 {
        var state = seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03)
        return next(&state)
    }

    static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (Lemire's multiply-and-reject).
    private static func bounded(_ bound: UInt64, _ state: inout UInt64) -> UInt64 {
        var product = next(&state).multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next(&state).multipliedFullWidth(by: bound) }
        }
        return product.high
    }
}
