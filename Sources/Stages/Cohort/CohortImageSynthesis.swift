import Foundation
import ShapeModel
import GeometryKit
import Workflow

/// The voxel volumes of one synthetic subject on the cohort's shared grid.
public struct SubjectVolumes: Sendable {
    /// CT-like intensities (Hounsfield-like units).
    public var image: ImageVolume
    /// 1 inside the femur, 0 outside (voxel centres).
    public var segmentation: [UInt8]
    /// Signed distance to the femur surface in mm, negative inside.
    public var distance: ImageVolume
}

/// Renders a `FemurShape` in a subject's pose as a CT-like image, its
/// segmentation and its signed distance transform.
///
/// The image has a cortical shell (thicker along the shaft), cancellous bone and
/// marrow, soft tissue with a slow seeded texture, the acetabular cup and a strip
/// of ilium around the head (bone that is not femur, so segmenting is not a
/// threshold), a [1 2 1]/4 blur per axis for partial volume, and seeded Gaussian
/// noise. The distance transform is exact where it matters: within two voxels of
/// the surface it is the implicit function divided by its gradient norm (central
/// differences on the grid): the first-order distance to the smooth surface, so
/// the zero level is that surface;
/// elsewhere the Euclidean distance transform of the segmentation; both have the
/// segmentation's sign at every voxel centre.
public enum CohortImageSynthesis {
    /// Intensities of the tissue classes (about CT Hounsfield units).
    static let cortical: Float = 1400, cancellous: Float = 380, marrow: Float = 120
    static let softTissue: Float = 45, pelvisCortex: Float = 1100, pelvisInside: Float = 300

    /// Renders subject volumes. `pose` takes anatomical to image coordinates and
    /// must be rigid; `rng` drives the texture and noise.
    public static func render(_ shape: FemurShape, pose: SimilarityTransform, grid: CohortGrid,
                              noise: Double, rng: inout SampleRandom) throws -> SubjectVolumes {
        let (nx, ny, nz) = (grid.dims.x, grid.dims.y, grid.dims.z)
        let count = nx * ny * nz
        let inverse = pose.inverse
        let (segmentation, distance) = try distanceField(shape, pose: pose, grid: grid)

        // Texture: a few long-wavelength plane waves, so soft tissue is not flat.
        // e^{i k·p} factors per axis, so a voxel costs one complex product per wave.
        var rows: [(x: [SIMD2<Double>], y: [SIMD2<Double>], z: [SIMD2<Double>], amplitude: Double)] = []
        for _ in 0..<4 {
            let k = SIMD3(rng.normal(), rng.normal(), rng.normal()) * (2 * .pi / 60)
            let phase = rng.uniform() * 2 * .pi, amplitude = 6 + 6 * rng.uniform()
            func factors(_ n: Int, _ axis: Int) -> [SIMD2<Double>] {
                (0..<n).map { i in
                    let angle = k[axis] * (grid.origin[axis] + Double(i) * grid.spacing[axis]) + (axis == 0 ? phase : 0)
                    return SIMD2(cos(angle), sin(angle))
                }
            }
            rows.append((factors(nx, 0), factors(ny, 1), factors(nz, 2), amplitude))
        }
        func product(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> SIMD2<Double> {
            SIMD2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x)
        }
        let pelvis = Pelvis(shape: shape)
        var voxels = [Float](repeating: softTissue, count: count)
        for z in 0..<nz {
            for y in 0..<ny {
                let yz = rows.map { product($0.y[y], $0.z[z]) }
                for x in 0..<nx {
                    let i = x + nx * (y + ny * z)
                    var texture = 0.0
                    for (w, row) in rows.enumerated() { texture += row.amplitude * product(row.x[x], yz[w]).x }
                    var value = softTissue + Float(texture)
                    if segmentation[i] == 1 {
                        let q = inverse.apply(grid.point(x, y, z))
                        // Cortex 1.5 mm at the head, 4 mm down the shaft.
                        let cortex = min(max(1.5 + 2.5 * (-q.z / 40), 1.5), 4)
                        value = -distance[i] < Float(cortex) ? cortical : (q.z > -25 ? cancellous : marrow)
                    } else if let depth = pelvis.depth(inverse.apply(grid.point(x, y, z))) {
                        value = depth < 2 ? pelvisCortex : pelvisInside
                    }
                    voxels[i] = value
                }
            }
        }
        blur(&voxels, dims: grid.dims)
        if noise > 0 {
            // Box–Muller, both outputs used.
            var i = 0
            while i < count {
                let r = (-2 * log(1 - rng.uniform())).squareRoot() * noise, angle = 2 * Double.pi * rng.uniform()
                voxels[i] += Float(r * cos(angle))
                if i + 1 < count { voxels[i + 1] += Float(r * sin(angle)) }
                i += 2
            }
        }
        return SubjectVolumes(
            image: ImageVolume(dims: grid.dims, spacing: grid.spacing, origin: grid.origin, voxels: voxels),
            segmentation: segmentation,
            distance: ImageVolume(dims: grid.dims, spacing: grid.spacing, origin: grid.origin, voxels: distance))
    }

    /// The segmentation of `shape` in `pose` on `grid`, and its signed distance
    /// transform: exact Euclidean distance of the segmentation, replaced within two
    /// voxels of the surface by the first-order distance to the smooth surface.
    public static func distanceField(_ shape: FemurShape, pose: SimilarityTransform,
                                     grid: CohortGrid) throws -> (segmentation: [UInt8], distance: [Float]) {
        let inverse = pose.inverse
        var (field, segmentation) = implicitField(shape, inverse: inverse, grid: grid,
                                                  box: grid.voxelBox(of: shape, pose: pose, padding: 3))
        let labels = ImageVolume(dims: grid.dims, spacing: grid.spacing, origin: grid.origin,
                                 voxels: segmentation.map { Float($0) })
        let exact: ImageVolume
        do { exact = try ImageVolume.signedDistance(ofSegmentation: labels) } catch {
            throw StageFailure("the femur does not fit the grid \(grid.dims.x)×\(grid.dims.y)×\(grid.dims.z) (\(error)); raise the margin or the voxel size")
        }
        var distance = exact.voxels
        let h = grid.spacing.max(), band = Float(2 * h)
        // The band and its neighbours need the implicit function itself.
        for i in 0..<distance.count where abs(distance[i]) < band + Float(h) && field[i].isNaN {
            field[i] = shape.signedDistance(inverse.apply(grid.point(i)))
        }
        // |∇f| by central differences on the grid (rotation-invariant, so the image
        // frame will do); the analytic gradient only at the grid's faces.
        let (nx, ny, nz) = (grid.dims.x, grid.dims.y, grid.dims.z)
        let steps = [1, nx, nx * ny]
        for i in 0..<distance.count where abs(distance[i]) < band {
            let x = i % nx, y = (i / nx) % ny, z = i / (nx * ny)
            var g2 = 0.0
            if x > 0, y > 0, z > 0, x < nx - 1, y < ny - 1, z < nz - 1 {
                for axis in 0..<3 {
                    let d = (field[i + steps[axis]] - field[i - steps[axis]]) / (2 * grid.spacing[axis])
                    g2 += d * d
                }
            }
            if !g2.isFinite || g2 == 0 {
                let g = shape.gradient(inverse.apply(grid.point(i)))
                g2 = (g * g).sum()
            }
            if g2 > 1e-12 { distance[i] = Float(field[i] / g2.squareRoot()) }
        }
        return (segmentation, distance)
    }

    /// The implicit function at the voxels that need it, and the segmentation.
    ///
    /// Evaluated coarse to fine: first at every second voxel of `box`; a 3 × 3 × 3
    /// block whose eight corners share a sign and lie further from the surface than
    /// the function can change within the block (Lipschitz bound 1.5 over √3
    /// voxels) is filled with that sign without evaluating (its field stays NaN);
    /// every other voxel is evaluated. About a third of the box is evaluated.
    static func implicitField(_ shape: FemurShape, inverse: SimilarityTransform, grid: CohortGrid,
                              box: (lower: SIMD3<Int>, upper: SIMD3<Int>)) -> (field: [Double], segmentation: [UInt8]) {
        let dims = grid.dims, (nx, ny) = (dims.x, dims.y)
        var field = [Double](repeating: .nan, count: grid.count)
        var segmentation = [UInt8](repeating: 0, count: grid.count)
        let corners = (box.upper &- box.lower &+ 1) / 2 &+ 1
        func lattice(_ a: Int, _ axis: Int) -> Int { min(box.lower[axis] + 2 * a, dims[axis] - 1) }
        var coarse = [Double](repeating: 0, count: corners.x * corners.y * corners.z)
        for c in 0..<corners.z {
            for b in 0..<corners.y {
                for a in 0..<corners.x {
                    let p = grid.point(lattice(a, 0), lattice(b, 1), lattice(c, 2))
                    coarse[a + corners.x * (b + corners.y * c)] = shape.signedDistance(inverse.apply(p))
                }
            }
        }
        let safe = 1.5 * 3.0.squareRoot() * grid.spacing.max()
        for c in 0..<max(corners.z - 1, 1) {
            for b in 0..<max(corners.y - 1, 1) {
                for a in 0..<max(corners.x - 1, 1) {
                    var lo = Double.infinity, hi = -Double.infinity
                    for k in 0..<8 {
                        let v = coarse[min(a + (k & 1), corners.x - 1)
                                       + corners.x * (min(b + (k >> 1 & 1), corners.y - 1) + corners.y * min(c + (k >> 2), corners.z - 1))]
                        lo = min(lo, v); hi = max(hi, v)
                    }
                    let uniform: UInt8? = lo > safe ? 0 : (hi < -safe ? 1 : nil)
                    for z in lattice(c, 2)...lattice(c + 1, 2) {
                        for y in lattice(b, 1)...lattice(b + 1, 1) {
                            for x in lattice(a, 0)...lattice(a + 1, 0) {
                                let i = x + nx * (y + ny * z)
                                if let label = uniform {
                                    segmentation[i] = label
                                } else if field[i].isNaN {
                                    let f = shape.signedDistance(inverse.apply(grid.point(x, y, z)))
                                    field[i] = f
                                    segmentation[i] = f < 0 ? 1 : 0
                                }
                            }
                        }
                    }
                }
            }
        }
        return (field, segmentation)
    }

    /// [1 2 1]/4 along each axis (a Gaussian of about 0.7 voxel): partial volume.
    static func blur(_ voxels: inout [Float], dims: SIMD3<Int>) {
        let strides = [1, dims.x, dims.x * dims.y], sizes = [dims.x, dims.y, dims.z]
        var source = voxels
        for axis in 0..<3 {
            let s = strides[axis], n = sizes[axis]
            source.withUnsafeBufferPointer { src in
                voxels.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<src.count {
                        let c = (i / s) % n
                        let lo = c > 0 ? src[i - s] : src[i], hi = c < n - 1 ? src[i + s] : src[i]
                        dst[i] = 0.25 * lo + 0.5 * src[i] + 0.25 * hi
                    }
                }
            }
            source = voxels
        }
    }
}

/// The part of the pelvis in the field of view: the acetabular cup around the
/// femoral head (past a cartilage gap) and a strip of ilium rising from it.
struct Pelvis {
    let centre: SIMD3<Double>, axis: SIMD3<Double>
    let inner: Double, outer: Double
    let iliumStart: SIMD3<Double>, iliumEnd: SIMD3<Double>, iliumRadius: Double

    init(shape: FemurShape) {
        centre = shape.headCentre
        let a = shape.neckAxis + SIMD3(0, 0, 0.4)
        axis = a / length3(a)
        let r = shape.anatomy.headRadius
        inner = r + 2.5
        outer = r + 11
        // Starts inside the cup, keeps clear of the head (gap ≥ 6 mm).
        iliumStart = centre + axis * (r + 14)
        iliumEnd = iliumStart + SIMD3(-22, 4, 45)
        iliumRadius = 8
    }

    /// Depth (mm) of `q` inside the pelvis, or nil outside.
    func depth(_ q: SIMD3<Double>) -> Double? {
        let v = q - centre, r = length3(v)
        let shell = abs(r - (inner + outer) / 2) - (outer - inner) / 2
        // The cup covers the head a little beyond the hemisphere facing `axis`.
        let cup = max(shell, -((v * axis).sum() + 0.2 * r))
        let seg = iliumEnd - iliumStart
        let t = min(max(((q - iliumStart) * seg).sum() / (seg * seg).sum(), 0), 1)
        let ilium = length3(q - iliumStart - t * seg) - iliumRadius
        let d = min(cup, ilium)
        return d < 0 ? -d : nil
    }
}

func length3(_ v: SIMD3<Double>) -> Double { (v * v).sum().squareRoot() }
