import Foundation

/// A seeded random number generator for one augmentation sample (SplitMix64,
/// Steele, Lea & Flood 2014). Each sample gets its own stream derived from
/// `(seed, index)`, so sample i is the same whether 10 or 5000 samples are drawn,
/// and in whatever order they run.
public struct SampleRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A stream from a raw 64-bit state.
    public init(state: UInt64) { self.state = state }

    /// The stream of sample `index` under `seed`: both are mixed through the
    /// SplitMix64 finaliser so that neighbouring indices give unrelated streams.
    public init(seed: UInt64, index: UInt64) {
        var mixer = SampleRandom(state: seed)
        let base = mixer.next()
        self.init(state: Self.mix(base ^ Self.mix(index &+ 0x632B_E59B_D9B4_E019)))
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal draw (Box–Muller; one draw per call, so the number of
    /// values consumed never depends on earlier calls).
    public mutating func normal() -> Double {
        let u1 = 1 - uniform() // (0, 1]: log stays finite
        let u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A uniform integer in `0..<n`, without modulo bias.
    public mutating func index(below n: Int) -> Int {
        precondition(n > 0, "index(below:) needs n > 0")
        return Int(next(upperBound: UInt64(n)))
    }

    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
