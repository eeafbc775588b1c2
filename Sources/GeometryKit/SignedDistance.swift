import Foundation

/// A problem with an image that an image operation cannot work on.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    /// What is wrong and how to fix it, as a lowercase sentence.
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ImageVolume {
    /// The signed distance in mm from every voxel centre to the boundary of a
    /// binary segmentation: negative inside, positive outside.
    ///
    /// Voxels with a value `>= threshold` are inside. Each voxel's nearest voxel
    /// of the other side, q, comes from an exact Euclidean feature transform
    /// (Felzenszwalb & Huttenlocher's separable lower envelope of parabolas, with
    /// the image's anisotropic spacing); the boundary is taken half a voxel step
    /// before q on the line from the voxel, so the zero crossing lies half-way
    /// between neighbouring inside and outside voxel centres, a boundary plane
    /// across an axis is reproduced exactly, and any smooth surface within half
    /// a voxel.
    public static func signedDistance(ofSegmentation segmentation: ImageVolume,
                                      threshold: Float = 0.5) throws -> ImageVolume {
        let inside = segmentation.voxels.map { $0 >= threshold }
        let insideCount = inside.lazy.filter { $0 }.count
        guard insideCount > 0, insideCount < inside.count else {
            throw ImageError("the segmentation is \(insideCount == 0 ? "empty" : "full") at threshold \(threshold) (\(insideCount) of \(inside.count) voxels inside); a signed distance needs both inside and outside voxels: check the threshold and the label values")
        }
        let dims = segmentation.dims, spacing = segmentation.spacing
        let nearestInside = nearestSites(inside, dims: dims, spacing: spacing, siteValue: true)
        let nearestOutside = nearestSites(inside, dims: dims, spacing: spacing, siteValue: false)

        var distances = [Float](repeating: 0, count: inside.count)
        for z in 0..<dims.z {
            for y in 0..<dims.y {
                for x in 0..<dims.x {
                    let p = x + dims.x * (y + dims.y * z)
                    let q = Int(inside[p] ? nearestOutside[p] : nearestInside[p])
                    let qx = q % dims.x, qy = (q / dims.x) % dims.y, qz = q / (dims.x * dims.y)
                    let steps = SIMD3<Double>(Double(x - qx), Double(y - qy), Double(z - qz))
                    let offset = steps * spacing
                    let length = (offset * offset).sum().squareRoot()
                    // The boundary lies half a voxel before q along the way from p:
                    // half of the millimetres per voxel step in that direction.
                    let d = length * (1 - 0.5 / (steps * steps).sum().squareRoot())
                    distances[p] = Float(inside[p] ? -d : d)
                }
            }
        }
        return ImageVolume(dims: dims, spacing: spacing, origin: segmentation.origin, voxels: distances)
    }

    /// For every voxel, the linear index of the nearest voxel (in mm) whose mask
    /// value is `siteValue`. The caller guarantees at least one such voxel.
    static func nearestSites(_ mask: [Bool], dims: SIMD3<Int>, spacing: SIMD3<Double>,
                             siteValue: Bool) -> [Int32] {
        let count = mask.count
        var squared = [Double](repeating: .infinity, count: count)
        var feature = [Int32](repeating: -1, count: count)
        for i in 0..<count where mask[i] == siteValue {
            squared[i] = 0
            feature[i] = Int32(i)
        }
        let strides = SIMD3(1, dims.x, dims.x * dims.y)
        for axis in 0..<3 {
            let n = dims[axis]
            guard n > 1 else { continue }
            let stride = strides[axis]
            let s2 = spacing[axis] * spacing[axis]
            var lineG = [Double](repeating: 0, count: n), lineF = [Int32](repeating: 0, count: n)
            var envelope = LowerEnvelope(capacity: n)
            // Every line along `axis`: all voxels with that axis' index 0.
            for start in 0..<count where (start / stride) % n == 0 {
                for i in 0..<n {
                    lineG[i] = squared[start + i * stride]
                    lineF[i] = feature[start + i * stride]
                }
                envelope.transform(&lineG, &lineF, s2: s2)
                for i in 0..<n {
                    squared[start + i * stride] = lineG[i]
                    feature[start + i * stride] = lineF[i]
                }
            }
        }
        return feature
    }
}

/// Felzenszwalb & Huttenlocher's 1-D distance transform of sampled functions:
/// d(i) = min_j g(j) + s²(i − j)², carrying the minimiser's feature along.
private struct LowerEnvelope {
    private var vertices: [Int]
    private var boundaries: [Double]
    private var g: [Double]
    private var f: [Int32]

    init(capacity n: Int) {
        vertices = [Int](repeating: 0, count: n)
        boundaries = [Double](repeating: 0, count: n + 1)
        g = [Double](repeating: 0, count: n)
        f = [Int32](repeating: 0, count: n)
    }

    mutating func transform(_ values: inout [Double], _ features: inout [Int32], s2: Double) {
        let n = values.count
        for i in 0..<n { g[i] = values[i]; f[i] = features[i] }
        var k = -1
        for q in 0..<n where g[q].isFinite {
            var boundary = -Double.infinity
            while k >= 0 {
                let p = vertices[k]
                // Where the parabolas rooted at p and q meet.
                boundary = ((g[q] + s2 * Double(q * q)) - (g[p] + s2 * Double(p * p))) / (2 * s2 * Double(q - p))
                if boundary <= boundaries[k] { k -= 1 } else { break }
            }
            k += 1
            vertices[k] = q
            boundaries[k] = k == 0 ? -.infinity : boundary
            boundaries[k + 1] = .infinity
        }
        guard k >= 0 else { return }  // no site on this line yet: leave it at infinity
        var j = 0
        for i in 0..<n {
            while boundaries[j + 1] < Double(i) { j += 1 }
            let v = vertices[j]
            let d = Double(i - v)
            values[i] = s2 * d * d + g[v]
            features[i] = f[v]
        }
    }
}
