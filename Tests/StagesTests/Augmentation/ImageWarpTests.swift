import XCTest
import GeometryKit
@testable import Stages
@testable import ShapeModel

final class ImageWarpTests: XCTestCase {
    /// A blob image (a smooth ellipsoid of intensity) on a small anisotropic grid.
    private func blobImage(dims: SIMD3<Int> = SIMD3(44, 52, 48), spacing: SIMD3<Double> = SIMD3(1, 1, 1.25)) -> ImageVolume {
        var image = ImageVolume(dims: dims, spacing: spacing, origin: SIMD3(-22, -26, -30))
        for z in 0..<dims.z { for y in 0..<dims.y { for x in 0..<dims.x {
            let p = image.point(SIMD3(Double(x), Double(y), Double(z)))
            let r = (p.x * p.x / 256 + p.y * p.y / 400 + p.z * p.z / 676).squareRoot()
            image[x, y, z] = Float(1000 / (1 + exp(8 * (r - 1))))
        } } }
        return image
    }

    /// Landmarks on the blob's surface about 6 mm apart (as every second femur
    /// particle is) and a generated shape: a smooth deformation of 1–2 mm plus
    /// independent noise per landmark. Real femurs differ from their 6-mode
    /// reconstruction by 0.5 mm RMS per particle, but smoothly; 0.2 mm of
    /// independent noise per axis gives the same warp error as real femur pairs
    /// (~0.03 voxel, `bench/augment --particles`).
    private func ellipsoidLandmarks(_ n: Int = 128, noise: Double = 0.2) -> (source: [SIMD3<Double>], target: [SIMD3<Double>]) {
        let golden = Double.pi * (3 - 5.0.squareRoot())
        let source = (0..<n).map { i -> SIMD3<Double> in
            let z = 1 - 2 * (Double(i) + 0.5) / Double(n), r = (1 - z * z).squareRoot(), t = golden * Double(i)
            return SIMD3(16 * r * cos(t), 20 * r * sin(t), 26 * z)
        }
        var random = SampleRandom(seed: 4, index: 0)
        let target = source.map { p in
            p + SIMD3(1.5 * sin(p.y / 8), 1.2 * cos(p.z / 9), 0.8 * sin(p.x / 7) + 0.5)
                + SIMD3(random.normal(), random.normal(), random.normal()) * noise
        }
        return (source, target)
    }

    func test_coarseField_errorAgainstExactSplineIsBelowTwentiethOfAVoxel() throws {
        let image = blobImage()
        let (source, target) = ellipsoidLandmarks()
        let spline = try ThinPlateSpline(from: source, to: target)
        let error = ImageWarp().maxFieldError(for: image, spline: spline)
        XCTAssertLessThanOrEqual(error, 0.05, "max mapping error \(error) voxel")
    }

    func test_coarseField_withoutNearLandmarkCorrection_isMeasurablyWorse() throws {
        // Guards the correction itself: interpolation alone misses the kernel's kinks.
        let image = blobImage()
        let (source, target) = ellipsoidLandmarks()
        let spline = try ThinPlateSpline(from: source, to: target)
        let plain = ImageWarp(gridStep: 2, correctionRadius: 0, threads: 2).maxFieldError(for: image, spline: spline)
        let corrected = ImageWarp(gridStep: 2, correctionRadius: 10, threads: 2).maxFieldError(for: image, spline: spline)
        XCTAssertLessThan(corrected, plain / 2, "corrected \(corrected), plain \(plain)")
    }

    func test_coarseWarp_matchesExactPerVoxelWarp() throws {
        let image = blobImage()
        let (source, target) = ellipsoidLandmarks()
        let spline = try ThinPlateSpline(from: source, to: target)
        let warp = ImageWarp()
        let fast = warp.apply(to: image, spline: spline), exact = warp.applyExact(to: image, spline: spline)
        // Away from the border, where "outside is 0" makes the image a step.
        var worst: Float = 0
        for z in 2..<(image.dims.z - 2) { for y in 2..<(image.dims.y - 2) { for x in 2..<(image.dims.x - 2) {
            worst = max(worst, abs(fast[x, y, z] - exact[x, y, z]))
        } } }
        // Intensity changes by up to ~1000 · 8 / 4 / 16 mm ≈ 125 per voxel at the
        // blob's rim, so 0.05 voxel of mapping error is at most ~6.
        XCTAssertLessThan(worst, 125 * 0.05, "largest intensity difference \(worst)")
        XCTAssertNotEqual(fast.voxels, image.voxels, "the warp moved nothing")
    }

    func test_warp_withIdentityLandmarks_returnsTheImage() throws {
        let image = blobImage()
        let (source, _) = ellipsoidLandmarks(64)
        let warped = ImageWarp().apply(to: image, spline: try ThinPlateSpline(from: source, to: source))
        for (a, b) in zip(warped.voxels, image.voxels) { XCTAssertEqual(a, b, accuracy: 1e-3) }
    }

    func test_warp_byOneVoxelTranslation_shiftsAndFillsOutsideWithZero() throws {
        let image = blobImage()
        let (source, _) = ellipsoidLandmarks(64)
        // Backward mapping: output p reads input p + (1, 0, 0) mm = one voxel along x.
        let spline = try ThinPlateSpline(from: source, to: source.map { $0 + SIMD3(1, 0, 0) })
        let warped = ImageWarp(gridStep: 3, threads: 1).apply(to: image, spline: spline)
        let last = image.dims.x - 1
        for z in [0, 17, image.dims.z - 1] { for y in [0, 20, image.dims.y - 1] {
            for x in 0..<last { XCTAssertEqual(warped[x, y, z], image[x + 1, y, z], accuracy: 1e-3) }
            // The last column reads index n: outside (ITK's n − 0.5 rule), so 0.
            XCTAssertEqual(warped[last, y, z], 0)
        } }
    }

    func test_warp_isIdenticalForOneOrTwoThreads() throws {
        let image = blobImage()
        let (source, target) = ellipsoidLandmarks(64)
        let spline = try ThinPlateSpline(from: source, to: target)
        XCTAssertEqual(ImageWarp(threads: 1).apply(to: image, spline: spline).voxels,
                       ImageWarp(threads: 2).apply(to: image, spline: spline).voxels)
    }
}
