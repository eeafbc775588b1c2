import Foundation

/// On-the-fly intensity augmentation of training images (ShapeWorks 6.7's
/// `intensity_augmentation`: blur, gamma, scale, shift, Gaussian noise, in that
/// order), applied to the already normalised images of a training batch.
///
/// Every random draw comes from a generator seeded by (seed, epoch, sample
/// position in the split), never from a shared stream, so the same epoch gives
/// the same images whether the training ran straight through or resumed.
///
/// Each transform has a magnitude (0 turns it off) and a probability of being
/// applied to a sample:
/// - scale: intensities × (1 + u·scale), u uniform in [−1, 1];
/// - shift: intensities + u·shift;
/// - noise: + N(0, σ²) per voxel, σ uniform in [0, noise];
/// - gamma: on the sample's [min, max] range, x ↦ min + (max − min)·t^γ with
///   t = (x − min)/(max − min), γ = exp(u·gamma) (gamma is the largest |log γ|);
/// - blur: an isotropic Gaussian of σ uniform in [0, blur] voxels (skipped
///   below 0.25 voxel), separable, edges replicated.
struct IntensityAugmentation: Sendable, Equatable {
    struct Transform: Sendable, Equatable {
        var magnitude: Double
        var probability: Double
        var isOn: Bool { magnitude > 0 && probability > 0 }
    }

    var scale = Transform(magnitude: 0, probability: 1)
    var shift = Transform(magnitude: 0, probability: 1)
    var noise = Transform(magnitude: 0, probability: 1)
    var gamma = Transform(magnitude: 0, probability: 1)
    var blur = Transform(magnitude: 0, probability: 1)
    var seed: UInt64 = 0

    var isOn: Bool { [scale, shift, noise, gamma, blur].contains { $0.isOn } }

    /// Augments every sample of `images` ([count, D, H, W], contiguous) in place;
    /// `positions` are the samples' positions in the training split.
    func apply(to images: inout [Float], positions: [Int], epoch: Int, shape: (d: Int, h: Int, w: Int)) {
        guard isOn else { return }
        let voxels = shape.d * shape.h * shape.w
        precondition(images.count == positions.count * voxels, "images must be whole samples")
        for (slot, position) in positions.enumerated() {
            var random = SampleRandomStream(seed: seed, epoch: epoch, position: position)
            images.withUnsafeMutableBufferPointer { buffer in
                let sample = UnsafeMutableBufferPointer(rebasing: buffer[(slot * voxels)..<((slot + 1) * voxels)])
                augment(sample, shape: shape, random: &random)
            }
        }
    }

    /// One sample. Every draw is made whether or not a transform fires, so
    /// turning one transform on or off leaves the others' draws unchanged.
    func augment(_ x: UnsafeMutableBufferPointer<Float>, shape: (d: Int, h: Int, w: Int),
                 random: inout SampleRandomStream) {
        let blurFires = random.uniform() < blur.probability, sigma = random.uniform() * blur.magnitude
        let gammaFires = random.uniform() < gamma.probability, logGamma = random.symmetric() * gamma.magnitude
        let scaleFires = random.uniform() < scale.probability, factor = 1 + random.symmetric() * scale.magnitude
        let shiftFires = random.uniform() < shift.probability, offset = random.symmetric() * shift.magnitude
        let noiseFires = random.uniform() < noise.probability, std = random.uniform() * noise.magnitude

        if blur.isOn, blurFires, sigma >= 0.25 { Self.blur(x, shape: shape, sigma: sigma) }
        if gamma.isOn, gammaFires, logGamma != 0 {
            var lo = Float.infinity, hi = -Float.infinity
            for v in x { lo = min(lo, v); hi = max(hi, v) }
            let range = Double(hi - lo), g = exp(logGamma)
            if range > 0 {
                for i in x.indices {
                    let t = min(max(Double(x[i] - lo) / range, 0), 1)
                    x[i] = Float(Double(lo) + range * pow(t, g))
                }
            }
        }
        if (scale.isOn && scaleFires) || (shift.isOn && shiftFires) {
            let a = Float(scale.isOn && scaleFires ? factor : 1), b = Float(shift.isOn && shiftFires ? offset : 0)
            for i in x.indices { x[i] = x[i] * a + b }
        }
        if noise.isOn, noiseFires, std > 0 {
            for i in x.indices { x[i] += Float(random.normal() * std) }
        }
    }

    /// Separable Gaussian blur with replicated edges, radius ⌈2σ⌉ (at least 1).
    static func blur(_ x: UnsafeMutableBufferPointer<Float>, shape: (d: Int, h: Int, w: Int), sigma: Double) {
        let radius = max(1, Int((2 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        let dims = [shape.d, shape.h, shape.w], strides = [shape.h * shape.w, shape.w, 1]
        var line = [Double](), out = [Double]()
        for axis in 0..<3 {
            let n = dims[axis], stride = strides[axis]
            line = [Double](repeating: 0, count: n)
            out = [Double](repeating: 0, count: n)
            // Every line along `axis`: start offsets are the voxels whose `axis` coordinate is 0.
            for start in 0..<x.count where (start / stride) % n == 0 {
                for i in 0..<n { line[i] = Double(x[start + i * stride]) }
                for i in 0..<n {
                    var s = 0.0
                    for k in -radius...radius { s += kernel[k + radius] * line[min(max(i + k, 0), n - 1)] }
                    out[i] = s
                }
                for i in 0..<n { x[start + i * stride] = Float(out[i]) }
            }
        }
    }
}

/// A SplitMix64 stream for one sample of one epoch: (seed, epoch, position) → draws.
struct SampleRandomStream {
    private var state: UInt64

    init(seed: UInt64, epoch: Int, position: Int) {
        state = seed &* 0x9E37_79B9_7F4A_7C15
        state = Self.mix(state ^ UInt64(truncatingIfNeeded: epoch) &* 0xBF58_476D_1CE4_E5B9)
        state = Self.mix(state ^ UInt64(truncatingIfNeeded: position) &* 0x94D0_49BB_1331_11EB)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// Uniform in [−1, 1).
    mutating func symmetric() -> Double { uniform() * 2 - 1 }
    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u = max(uniform(), 0x1.0p-53), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
