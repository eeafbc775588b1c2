import Foundation
import GeometryKit
import ShapeModel

/// Test-time augmentation of `deepssm-predict`: each image is predicted as it
/// is and in `copies − 1` rigidly moved versions (a rotation about the grid's
/// centre and a shift, resampled trilinearly on the same grid), and the
/// predictions are averaged. World PCA scores do not depend on where the bone
/// lies in the image, so every copy has the same right answer; averaging
/// lowers what the network's answer owes to one particular pose.
struct TestTimeAugmentation: Sendable {
    /// For copy c ≥ 1, `motions[c - 1]` maps an output point (mm, relative to
    /// the grid's centre) to the point of the original image it reads.
    let motions: [SimilarityTransform]
    let dims: SIMD3<Int>
    let spacing: SIMD3<Double>

    /// Predictions per image, the unmoved one included.
    var copies: Int { motions.count + 1 }

    /// Motions drawn from a fixed stream by copy index (the same for every image
    /// and run): rotation vectors of three N(0, `rotationDegrees`) angles and
    /// shifts of three N(0, `shift`) mm.
    init(copies: Int, rotationDegrees: Double, shift: Double, dims: SIMD3<Int>, spacing: SIMD3<Double>) {
        self.dims = dims
        self.spacing = spacing
        motions = (1..<max(copies, 1)).map { c in
            var random = SampleRandom(seed: 0x7E57_71AE, index: UInt64(c))
            let angles = SIMD3(random.normal(), random.normal(), random.normal()) * (rotationDegrees * .pi / 180)
            let t = SIMD3(random.normal(), random.normal(), random.normal()) * shift
            // The image is moved by p ↦ R p + t; reading it back is the inverse.
            return SimilarityTransform(rotation: SimilarityTransform.rotation(vector: angles), translation: t).inverse
        }
    }

    /// Given motions (output point → read point, grid-centred mm), one per moved copy.
    init(motions: [SimilarityTransform], dims: SIMD3<Int>, spacing: SIMD3<Double>) {
        self.motions = motions
        self.dims = dims
        self.spacing = spacing
    }

    /// Copy `c` (1-based among the moved ones) of a batch of `count` images,
    /// each `[nz, ny, nx]` with x fastest; outside the grid, each image's background
    /// (the median of its faces).
    func moved(_ images: [Float], count: Int, copy c: Int) -> [Float] {
        let motion = motions[c - 1]
        let n = dims.x * dims.y * dims.z
        precondition(images.count == count * n, "test-time augmentation: \(images.count) values for \(count) images of \(dims)")
        // Grid-centred coordinates: the motions turn about the grid's centre.
        let origin = -(SIMD3<Double>(dims) - 1) * spacing / 2
        var out: [Float] = []
        out.reserveCapacity(images.count)
        for s in 0..<count {
            var image = ImageVolume(dims: dims, spacing: spacing, origin: origin)
            image.voxels = Array(images[(s * n)..<((s + 1) * n)])
            out += ImageAligner.resample(image, through: motion.apply, dims: dims, spacing: spacing, origin: origin).voxels
        }
        return out
    }
}
