import Foundation

/// How `resampled(dims:filter:)` computes a voxel of the new grid.
public enum ResampleFilter: String, Sendable, CaseIterable, Codable {
    /// Trilinear interpolation at the new voxel's centre (ShapeWorks' and the
    /// reference's downsampling): fast, but along a shrinking axis a new voxel
    /// reads only the two old voxels around its centre.
    case linear
    /// Along an axis that shrinks, the mean of the old voxels under the new
    /// voxel's footprint (each weighted by its overlap, a box filter), so every
    /// old voxel counts and partial-volume detail is kept; along an axis that
    /// keeps or grows its voxel count, trilinear as `linear`.
    case area
}

extension ImageVolume {
    /// This volume on a grid of `newDims` covering the same physical extent (see
    /// `resampled(dims:)`), computed with `filter`. `.linear` is exactly
    /// `resampled(dims:)`.
    public func resampled(dims newDims: SIMD3<Int>, filter: ResampleFilter) -> ImageVolume {
        switch filter {
        case .linear: return resampled(dims: newDims)
        case .area: return areaResampled(dims: newDims)
        }
    }

    /// One axis's weights: for each new voxel, the first old voxel it reads and
    /// the normalised weights of the consecutive old voxels from there.
    struct AxisWeights {
        var first: [Int]
        var weights: [[Double]]

        /// New voxel i sits at old index c = i·n/m (origin kept). Shrinking
        /// (n > m): old voxel j (covering [j − ½, j + ½]) weighs its overlap with
        /// [c − s/2, c + s/2], s = n/m, clipped to the grid. Otherwise the two
        /// trilinear taps of `resampled(dims:)`.
        init(old n: Int, new m: Int) {
            let s = Double(n) / Double(m)
            first = []
            weights = []
            for i in 0..<m {
                let c = Double(i) * s
                if s > 1 {
                    let lo = max(c - s / 2, -0.5), hi = min(c + s / 2, Double(n) - 0.5)
                    let j0 = max(0, Int((lo + 0.5).rounded(.down))), j1 = min(n - 1, Int((hi + 0.5).rounded(.up)) - 1)
                    var w: [Double] = []
                    for j in j0...max(j0, j1) {
                        w.append(max(0, min(hi, Double(j) + 0.5) - max(lo, Double(j) - 0.5)))
                    }
                    let total = w.reduce(0, +)
                    first.append(j0)
                    weights.append(total > 0 ? w.map { $0 / total } : [1])
                } else {
                    let (b, f) = ImageVolume.linearTap(i, old: n, new: m)
                    first.append(b)
                    weights.append(n > 1 ? [1 - f, f] : [1])
                }
            }
        }
    }

    /// Separable resampling by `AxisWeights`, x then y then z, summed in double
    /// precision in a fixed order (the same bytes on every run and thread count).
    func areaResampled(dims newDims: SIMD3<Int>) -> ImageVolume {
        precondition(newDims.x > 0 && newDims.y > 0 && newDims.z > 0, "resampled dims must be positive")
        let newSpacing = spacing * SIMD3<Double>(dims) / SIMD3<Double>(newDims)
        let ax = AxisWeights(old: dims.x, new: newDims.x)
        let ay = AxisWeights(old: dims.y, new: newDims.y)
        let az = AxisWeights(old: dims.z, new: newDims.z)
        let (nx, ny, nz) = (dims.x, dims.y, dims.z)
        let (mx, my, mz) = (newDims.x, newDims.y, newDims.z)
        // Pass x: [nz][ny][mx]
        var px = [Double](repeating: 0, count: mx * ny * nz)
        voxels.withUnsafeBufferPointer { v in
            for k in 0..<nz { for j in 0..<ny {
                let row = (k * ny + j) * nx, out = (k * ny + j) * mx
                for i in 0..<mx {
                    var sum = 0.0
                    let f = ax.first[i]
                    for (t, w) in ax.weights[i].enumerated() { sum += w * Double(v[row + f + t]) }
                    px[out + i] = sum
                }
            }}
        }
        // Pass y: [nz][my][mx]
        var py = [Double](repeating: 0, count: mx * my * nz)
        for k in 0..<nz { for j in 0..<my {
            let f = ay.first[j], out = (k * my + j) * mx
            for (t, w) in ay.weights[j].enumerated() {
                let src = (k * ny + f + t) * mx
                for i in 0..<mx { py[out + i] += w * px[src + i] }
            }
        }}
        // Pass z: [mz][my][mx]
        var pz = [Double](repeating: 0, count: mx * my * mz)
        for k in 0..<mz {
            let f = az.first[k], out = k * my * mx
            for (t, w) in az.weights[k].enumerated() {
                let src = (f + t) * my * mx
                for i in 0..<(my * mx) { pz[out + i] += w * py[src + i] }
            }
        }
        return ImageVolume(dims: newDims, spacing: newSpacing, origin: origin, voxels: pz.map { Float($0) })
    }
}
