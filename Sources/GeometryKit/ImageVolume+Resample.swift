import Foundation

extension ImageVolume {
    /// Trilinear value at a fractional voxel index; `outside` beyond the grid
    /// (the outermost voxel centres are inside, with a 1e-6-voxel tolerance).
    public func sample(atIndex index: SIMD3<Double>, outside: Float = 0) -> Float {
        var base = SIMD3<Int>.zero
        var weight = SIMD3<Double>.zero
        for axis in 0..<3 {
            let n = dims[axis]
            var t = index[axis]
            guard t >= -1e-6, t <= Double(n - 1) + 1e-6 else { return outside }
            t = min(max(t, 0), Double(n - 1))
            let i = min(Int(t), max(n - 2, 0))
            base[axis] = i
            weight[axis] = n > 1 ? t - Double(i) : 0
        }
        return interpolate(base, weight)
    }

    /// Trilinear value at a physical point in mm; `outside` beyond the grid.
    public func sample(atPoint point: SIMD3<Double>, outside: Float = 0) -> Float {
        sample(atIndex: continuousIndex(point), outside: outside)
    }

    /// This volume on a grid of `newDims` covering the same physical extent
    /// (`dims × spacing` is kept): origin kept, spacing scaled by old/new, voxels
    /// interpolated trilinearly (edge values extended where an upsampled grid
    /// reaches past the last voxel centre).
    public func resampled(dims newDims: SIMD3<Int>) -> ImageVolume {
        precondition(newDims.x > 0 && newDims.y > 0 && newDims.z > 0, "resampled dims must be positive")
        let newSpacing = spacing * SIMD3<Double>(dims) / SIMD3<Double>(newDims)
        // New voxel i sits at old index i·(old/new): one table of (base, weight) per axis.
        func axisTable(_ axis: Int) -> (base: [Int], weight: [Float]) {
            let taps = (0..<newDims[axis]).map { Self.linearTap($0, old: dims[axis], new: newDims[axis]) }
            return (taps.map(\.base), taps.map { Float($0.fraction) })
        }
        let (bx, wx) = axisTable(0), (by, wy) = axisTable(1), (bz, wz) = axisTable(2)
        let nx = dims.x, nxy = dims.x * dims.y
        let dx = dims.x > 1 ? 1 : 0, dy = dims.y > 1 ? nx : 0, dz = dims.z > 1 ? nxy : 0
        var out = [Float](repeating: 0, count: newDims.x * newDims.y * newDims.z)
        voxels.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                var n = 0
                for k in 0..<newDims.z {
                    let z0 = bz[k] * nxy, fz = wz[k]
                    for j in 0..<newDims.y {
                        let yz = z0 + by[j] * nx, fy = wy[j]
                        for i in 0..<newDims.x {
                            let p = yz + bx[i], fx = wx[i]
                            let c00 = v[p] + fx * (v[p + dx] - v[p])
                            let c10 = v[p + dy] + fx * (v[p + dy + dx] - v[p + dy])
                            let c01 = v[p + dz] + fx * (v[p + dz + dx] - v[p + dz])
                            let c11 = v[p + dz + dy] + fx * (v[p + dz + dy + dx] - v[p + dz + dy])
                            let c0 = c00 + fy * (c10 - c00)
                            let c1 = c01 + fy * (c11 - c01)
                            o[n] = c0 + fz * (c1 - c0)
                            n += 1
                        }
                    }
                }
            }
        }
        return ImageVolume(dims: newDims, spacing: newSpacing, origin: origin, voxels: out)
    }

    /// Along one axis of n voxels resampled to m: new voxel i reads old voxels
    /// `base` and `base + 1` with weights 1 − `fraction` and `fraction` (it
    /// sits at old index i·n/m, clamped to the last voxel).
    static func linearTap(_ i: Int, old n: Int, new m: Int) -> (base: Int, fraction: Double) {
        let t = min(Double(i) * (Double(n) / Double(m)), Double(n - 1))
        let b = min(Int(t), max(n - 2, 0))
        return (b, n > 1 ? t - Double(b) : 0)
    }

    /// The grid scaled by `factor` per axis (`Int(Double(d) · factor)` voxels,
    /// at least 1), e.g. DeepSSM's ×0.75 downsample.
    public func resampled(by factor: Double) -> ImageVolume {
        resampled(dims: ImageVolume.scaledDims(dims, by: factor))
    }

    /// `Int(Double(d) · factor)` per axis, at least 1: the dims `resampled(by:)` gives.
    public static func scaledDims(_ dims: SIMD3<Int>, by factor: Double) -> SIMD3<Int> {
        SIMD3(max(1, Int(Double(dims.x) * factor)), max(1, Int(Double(dims.y) * factor)),
              max(1, Int(Double(dims.z) * factor)))
    }

    private func interpolate(_ base: SIMD3<Int>, _ w: SIMD3<Double>) -> Float {
        let dx = dims.x > 1 ? 1 : 0, dy = dims.y > 1 ? 1 : 0, dz = dims.z > 1 ? 1 : 0
        func v(_ a: Int, _ b: Int, _ c: Int) -> Double {
            Double(self[base.x + a * dx, base.y + b * dy, base.z + c * dz])
        }
        let c00 = v(0, 0, 0) + w.x * (v(1, 0, 0) - v(0, 0, 0))
        let c10 = v(0, 1, 0) + w.x * (v(1, 1, 0) - v(0, 1, 0))
        let c01 = v(0, 0, 1) + w.x * (v(1, 0, 1) - v(0, 0, 1))
        let c11 = v(0, 1, 1) + w.x * (v(1, 1, 1) - v(0, 1, 1))
        let c0 = c00 + w.y * (c10 - c00)
        let c1 = c01 + w.y * (c11 - c01)
        return Float(c0 + w.z * (c1 - c0))
    }
}
