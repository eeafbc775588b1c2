import Foundation
import ShapeModel

/// The regular voxel grid that every image of a cohort shares (axis-aligned; voxel
/// `(x, y, z)` at `origin + (x, y, z) · spacing`, x fastest), as groomed ShapeWorks
/// images do.
public struct CohortGrid: Sendable, Equatable, Codable {
    /// Voxel counts (nx, ny, nz).
    public var dims: SIMD3<Int>
    /// Voxel size in mm.
    public var spacing: SIMD3<Double>
    /// Physical position of voxel (0, 0, 0) in mm.
    public var origin: SIMD3<Double>

    public init(dims: SIMD3<Int>, spacing: SIMD3<Double>, origin: SIMD3<Double>) {
        self.dims = dims
        self.spacing = spacing
        self.origin = origin
    }

    /// The smallest grid of isotropic `voxelSize` that holds the box `[lower, upper]`
    /// plus `margin` mm on every side, its origin on a multiple of the voxel size
    /// (so a grid does not move when the box changes by less than a voxel).
    public init(covering lower: SIMD3<Double>, _ upper: SIMD3<Double>, margin: Double, voxelSize: Double) {
        let lo = ((lower - margin) / voxelSize).rounded(.down) * voxelSize
        let hi = ((upper + margin) / voxelSize).rounded(.up) * voxelSize
        let steps = ((hi - lo) / voxelSize).rounded(.toNearestOrEven)
        self.init(dims: SIMD3<Int>(Int(steps.x) + 1, Int(steps.y) + 1, Int(steps.z) + 1),
                  spacing: SIMD3(repeating: voxelSize), origin: lo)
    }

    public var count: Int { dims.x * dims.y * dims.z }

    /// Physical position of voxel (x, y, z).
    public func point(_ x: Int, _ y: Int, _ z: Int) -> SIMD3<Double> {
        origin + SIMD3(Double(x), Double(y), Double(z)) * spacing
    }

    /// Physical position of the voxel with linear index `i`.
    public func point(_ i: Int) -> SIMD3<Double> {
        point(i % dims.x, (i / dims.x) % dims.y, i / (dims.x * dims.y))
    }

    /// The voxel index range (clamped to the grid) that holds `shape`'s bounding
    /// box in `pose`, grown by `padding` mm.
    func voxelBox(of shape: FemurShape, pose: SimilarityTransform, padding: Double) -> (lower: SIMD3<Int>, upper: SIMD3<Int>) {
        let box = Self.box(of: shape, pose: pose)
        let lo = ((box.min - padding - origin) / spacing).rounded(.down)
        let hi = ((box.max + padding - origin) / spacing).rounded(.up)
        let zero = SIMD3<Int>(repeating: 0), top = dims &- 1
        func clamp(_ v: SIMD3<Double>) -> SIMD3<Int> {
            pointwiseMax(zero, pointwiseMin(top, SIMD3<Int>(Int(v.x), Int(v.y), Int(v.z))))
        }
        return (clamp(lo), clamp(hi))
    }

    /// The axis-aligned box of `shape` in `pose`. The rotated corners of the
    /// anatomical box would overestimate it by centimetres; instead the bone is
    /// sampled on a `step` lattice inside that box, and the box of the inside
    /// samples is grown by one step.
    static func box(of shape: FemurShape, pose: SimilarityTransform, step: Double = 3) -> (min: SIMD3<Double>, max: SIMD3<Double>) {
        let b = shape.boundingBox
        var lo = SIMD3<Double>(repeating: .infinity), hi = -lo
        for corner in 0..<8 {
            let c = SIMD3(corner & 1 == 0 ? b.min.x : b.max.x, corner & 2 == 0 ? b.min.y : b.max.y,
                          corner & 4 == 0 ? b.min.z : b.max.z)
            let p = pose.apply(c)
            lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p)
        }
        let inverse = pose.inverse
        let n = (hi - lo) / step
        var insideLo = SIMD3<Double>(repeating: .infinity), insideHi = -insideLo
        for z in 0...Int(n.z.rounded(.up)) {
            for y in 0...Int(n.y.rounded(.up)) {
                for x in 0...Int(n.x.rounded(.up)) {
                    let p = lo + SIMD3(Double(x), Double(y), Double(z)) * step
                    if shape.signedDistance(inverse.apply(p)) < 0 {
                        insideLo = pointwiseMin(insideLo, p); insideHi = pointwiseMax(insideHi, p)
                    }
                }
            }
        }
        return (insideLo - step, insideHi + step)
    }
}
