import Foundation
import GeometryKit
import Workflow

/// Registers new images to the training reference with ITK (rigid or
/// similarity, normalised correlation, multi-resolution, started from the
/// centres of mass so the image's own origin does not matter), trying the
/// image as it is and mirrored, and keeping the better match.
public struct ImageAligner: Sendable {
    /// Correlation under which a registration is reported as poor. Held-out
    /// cohort images reach 0.75–0.85 against the mean training image, moved by
    /// ±20°/±30 mm with an intensity change the same; a correlation under 0.5 means less than a quarter of
    /// the reference's intensity variance is explained by the registered image:
    /// the anatomy is probably not where the model expects it (another field of
    /// view, another bone, a failed start).
    public static let warnBelow = 0.5
    /// Under this correlation the registration has failed: nothing like the
    /// reference was found, and a prediction would be meaningless.
    public static let failBelow = 0.2
    /// Fraction of the reference that must land inside the image.
    public static let minimumOverlap = 0.5

    public var allowScale = false
    /// Also try the mirrored image (the other side: a right femur for a left-femur model).
    public var tryMirror = true
    public var levels = 3
    public var iterations = 300
    public var threads = 1

    public init(allowScale: Bool = false, tryMirror: Bool = true, levels: Int = 3, iterations: Int = 300, threads: Int = 1) {
        self.allowScale = allowScale
        self.tryMirror = tryMirror
        self.levels = levels
        self.iterations = iterations
        self.threads = threads
    }

    /// The image mirrored across its mid-plane in x (same grid, voxels reversed along x).
    public static func mirrored(_ image: ImageVolume) -> ImageVolume {
        var out = image
        let nx = image.dims.x
        for row in 0..<(image.dims.y * image.dims.z) {
            for i in 0..<nx { out.voxels[row * nx + i] = image.voxels[row * nx + (nx - 1 - i)] }
        }
        return out
    }

    /// Registers `image` (read from `file`, for messages) to `reference`.
    public func align(_ image: ImageVolume, file: URL, to reference: ImageVolume) throws -> ImageAlignment {
        let planeX = image.origin.x + Double(image.dims.x - 1) * image.spacing.x / 2
        var candidates: [ImageAlignment] = []
        var failures: [String] = []
        for mirror in tryMirror ? [false, true] : [false] {
            let moving = mirror ? Self.mirrored(image) : image
            do {
                let r = try ImageRegistration.register(moving: moving, to: reference, allowScale: allowScale,
                                                       levels: levels, iterations: iterations, threads: threads)
                candidates.append(ImageAlignment(matrix: r.matrix, translation: [r.translation.x, r.translation.y, r.translation.z],
                                                 mirrored: mirror, mirrorPlaneX: mirror ? planeX : 0,
                                                 correlation: -r.metric, overlap: r.overlap, scale: r.scale))
            } catch {
                failures.append("\(mirror ? "mirrored: " : "")\(error)")
            }
        }
        guard let best = candidates.max(by: { ($0.correlation, $0.overlap) < ($1.correlation, $1.overlap) }) else {
            throw StageFailure("cannot register \(file.path) to the training reference: \(failures.joined(separator: "; ")); check that it is a CT of the anatomy the model was trained on")
        }
        guard best.correlation >= Self.failBelow, best.overlap >= Self.minimumOverlap else {
            throw StageFailure(String(format: "registration of %@ to the training reference failed: correlation %.2f (needs at least %.2f), %.0f %% of the reference inside the image (needs %.0f %%); the anatomy the model was trained on is not in this image's field of view, or the image is of something else: crop or reorient it so the bone is inside", file.path, best.correlation, Self.failBelow, best.overlap * 100, Self.minimumOverlap * 100))
        }
        return best
    }

    /// The image sampled on the model's input grid through `alignment`
    /// (trilinear, as the loaders sample a training image); where the grid
    /// reaches past the image, its background (the median of its faces).
    ///
    /// With `footprint` (the image's own voxel spacing), a grid voxel is instead
    /// the mean of trilinear samples spread evenly over its box (one grid
    /// spacing wide), at least one per `footprint` along each axis (at most 4):
    /// the box average that `downsample: area` loaders take of a training image.
    public static func resample(_ image: ImageVolume, through alignment: ImageAlignment,
                                dims: SIMD3<Int>, spacing: SIMD3<Double>, origin: SIMD3<Double>,
                                footprint: SIMD3<Double>? = nil) -> ImageVolume {
        var offsets = [SIMD3<Double>.zero]
        if let footprint {
            let finest = max(footprint.min(), 1e-6)
            var taps = SIMD3<Int>(repeating: 1)
            for axis in 0..<3 { taps[axis] = min(4, max(1, Int((spacing[axis] / finest).rounded(.up)))) }
            offsets = []
            for c in 0..<taps.z { for b in 0..<taps.y { for a in 0..<taps.x {
                let t = SIMD3(Double(a), Double(b), Double(c))
                offsets.append(((t + 0.5) / SIMD3<Double>(taps) - 0.5) * spacing)
            }}}
        }
        return resample(image, through: alignment.apply, dims: dims, spacing: spacing, origin: origin, offsets: offsets)
    }

    /// The image sampled on a grid through `map` (a grid point to the image
    /// point it reads), trilinear, with the image's background outside it. A
    /// grid voxel is the mean of the samples at its point plus each of
    /// `offsets` (mm); the default, one zero offset, is plain trilinear.
    static func resample(_ image: ImageVolume, through map: (SIMD3<Double>) -> SIMD3<Double>,
                         dims: SIMD3<Int>, spacing: SIMD3<Double>, origin: SIMD3<Double>,
                         offsets: [SIMD3<Double>] = [.zero]) -> ImageVolume {
        let background = Self.background(image)
        var out = ImageVolume(dims: dims, spacing: spacing, origin: origin)
        var v = 0
        for k in 0..<dims.z { for j in 0..<dims.y { for i in 0..<dims.x {
            let p = origin + SIMD3(Double(i), Double(j), Double(k)) * spacing
            if offsets.count == 1 {
                out.voxels[v] = image.sample(atPoint: map(p + offsets[0]), outside: background)
            } else {
                var sum = 0.0
                for offset in offsets { sum += Double(image.sample(atPoint: map(p + offset), outside: background)) }
                out.voxels[v] = Float(sum / Double(offsets.count))
            }
            v += 1
        }}}
        return out
    }

    /// The median of the voxels on the image's six faces.
    static func background(_ image: ImageVolume) -> Float {
        let d = image.dims
        var face: [Float] = []
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x
            where i == 0 || j == 0 || k == 0 || i == d.x - 1 || j == d.y - 1 || k == d.z - 1 {
            face.append(image[i, j, k])
        }}}
        face.sort()
        return face.isEmpty ? 0 : face[face.count / 2]
    }
}
