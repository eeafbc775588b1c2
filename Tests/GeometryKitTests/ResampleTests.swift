import Foundation
import XCTest
@testable import GeometryKit

final class ResampleTests: XCTestCase {
    /// A volume whose voxel value is a linear function of the physical position,
    /// which trilinear interpolation reproduces exactly.
    private func linearVolume(dims: SIMD3<Int>, spacing: SIMD3<Double>, origin: SIMD3<Double>) -> ImageVolume {
        var volume = ImageVolume(dims: dims, spacing: spacing, origin: origin)
        for z in 0..<dims.z { for y in 0..<dims.y { for x in 0..<dims.x {
            let p = volume.point(SIMD3(Double(x), Double(y), Double(z)))
            volume[x, y, z] = Float(2 * p.x - 0.5 * p.y + 0.25 * p.z)
        } } }
        return volume
    }

    func test_downsampleByThreeQuarters_keepsPhysicalExtentAndOrigin() {
        let volume = linearVolume(dims: SIMD3(105, 128, 137), spacing: SIMD3(0.5, 0.5, 0.5), origin: SIMD3(-20, 5, 1))
        let small = volume.resampled(by: 0.75)
        XCTAssertEqual(small.dims, SIMD3(78, 96, 102))
        XCTAssertEqual(small.origin, volume.origin)
        for axis in 0..<3 {
            XCTAssertEqual(small.physicalExtent[axis], volume.physicalExtent[axis], accuracy: 1e-9)
        }
        XCTAssertEqual(small.spacing.x, 0.5 * 105 / 78, accuracy: 1e-12)
    }

    func test_resampled_linearField_isReproduced() {
        let volume = linearVolume(dims: SIMD3(9, 7, 5), spacing: SIMD3(1, 2, 0.5), origin: SIMD3(1, 2, 3))
        let small = volume.resampled(dims: SIMD3(6, 5, 3))
        for z in 0..<3 { for y in 0..<5 { for x in 0..<6 {
            let p = small.point(SIMD3(Double(x), Double(y), Double(z)))
            XCTAssertEqual(small[x, y, z], Float(2 * p.x - 0.5 * p.y + 0.25 * p.z), accuracy: 1e-4)
        } } }
    }

    func test_resampled_sameDims_isIdentity() {
        let volume = linearVolume(dims: SIMD3(4, 3, 2), spacing: SIMD3(1, 1, 1), origin: .zero)
        XCTAssertEqual(volume.resampled(dims: volume.dims), volume)
    }

    func test_sample_betweenVoxels_interpolatesAndOutsideGivesFill() {
        let volume = ImageVolume(dims: SIMD3(2, 2, 2), voxels: [0, 1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(volume.sample(atIndex: SIMD3(0.5, 0.5, 0.5)), 3.5, accuracy: 1e-6)
        XCTAssertEqual(volume.sample(atIndex: SIMD3(1, 1, 1)), 7)
        XCTAssertEqual(volume.sample(atIndex: SIMD3(0.25, 0, 0)), 0.25, accuracy: 1e-6)
        XCTAssertEqual(volume.sample(atIndex: SIMD3(1.5, 0, 0), outside: -9), -9)
        XCTAssertEqual(volume.sample(atIndex: SIMD3(0, -0.1, 0), outside: -9), -9)
    }

    func test_sample_matchesResampledVoxel() {
        let volume = ImageVolume(dims: SIMD3(5, 4, 3), voxels: (0..<60).map { Float(($0 * 37) % 11) })
        let small = volume.resampled(dims: SIMD3(3, 3, 2))
        for z in 0..<2 { for y in 0..<3 { for x in 0..<3 {
            let index = volume.continuousIndex(small.point(SIMD3(Double(x), Double(y), Double(z))))
            XCTAssertEqual(small[x, y, z], volume.sample(atIndex: index), accuracy: 1e-5)
        } } }
    }

    // MARK: area (box-filter) downsampling

    /// Halving an axis: each new voxel at old index 2i covers [2i − 1, 2i + 1],
    /// so it weighs old voxels 2i − 1, 2i, 2i + 1 by ¼, ½, ¼ (⅔, ⅓ at the first
    /// voxel, whose footprint is clipped to [−½, 1] at the grid's edge).
    func test_area_halvingAnAxis_averagesTheFootprintWithOverlapWeights() {
        let values: [Float] = [0, 4, 8, 16, 32, 64]
        let volume = ImageVolume(dims: SIMD3(6, 1, 1), voxels: values)
        let small = volume.resampled(dims: SIMD3(3, 1, 1), filter: .area)
        XCTAssertEqual(small.spacing.x, 2)
        XCTAssertEqual(small.origin, volume.origin)
        XCTAssertEqual(small[0, 0, 0], (0 * 1 + 4 * 0.5) / 1.5, accuracy: 1e-6)
        XCTAssertEqual(small[1, 0, 0], 4 * 0.25 + 8 * 0.5 + 16 * 0.25, accuracy: 1e-6)
        XCTAssertEqual(small[2, 0, 0], 16 * 0.25 + 32 * 0.5 + 64 * 0.25, accuracy: 1e-6)
        // The linear filter reads old voxels 0, 2 and 4 only.
        let linear = volume.resampled(dims: SIMD3(3, 1, 1), filter: .linear)
        XCTAssertEqual(linear.voxels, [0, 8, 32])
        XCTAssertEqual(linear, volume.resampled(dims: SIMD3(3, 1, 1)))
    }

    /// Every old voxel counts: the weights of the interior new voxels sum each
    /// old voxel to the same total, so the mean intensity is kept (up to the
    /// clipped edges), and a constant image stays constant.
    func test_area_keepsAConstantAndTheMeanOfAFineCheckerboard() {
        let constant = ImageVolume(dims: SIMD3(10, 9, 11), fill: 3.5)
        XCTAssertTrue(constant.resampled(dims: SIMD3(4, 5, 6), filter: .area).voxels.allSatisfy { abs($0 - 3.5) < 1e-6 })
        // A one-voxel checkerboard along x: linear halving samples only the even
        // voxels (all 0); the box average sees both (0.5 inside).
        var checker = ImageVolume(dims: SIMD3(16, 2, 2))
        for z in 0..<2 { for y in 0..<2 { for x in 0..<16 { checker[x, y, z] = Float(x % 2) } } }
        let area = checker.resampled(dims: SIMD3(8, 2, 2), filter: .area)
        let linear = checker.resampled(dims: SIMD3(8, 2, 2), filter: .linear)
        XCTAssertTrue(linear.voxels.allSatisfy { $0 == 0 })
        for x in 1..<8 { XCTAssertEqual(area[x, 1, 1], 0.5, accuracy: 1e-6) }
    }

    /// Where an axis keeps or grows its voxel count, `area` is trilinear, so a
    /// linear field is reproduced there as by `linear`; along shrinking axes a
    /// linear field is kept at the voxel centres away from the edges.
    func test_area_linearField_isKeptInsideAndGrowingAxesAreTrilinear() {
        let volume = linearVolume(dims: SIMD3(12, 5, 9), spacing: SIMD3(1, 2, 0.5), origin: SIMD3(1, 2, 3))
        let resized = volume.resampled(dims: SIMD3(4, 7, 3), filter: .area)
        for z in 1..<2 { for y in 0..<6 { for x in 1..<3 {
            let p = resized.point(SIMD3(Double(x), Double(y), Double(z)))
            XCTAssertEqual(resized[x, y, z], Float(2 * p.x - 0.5 * p.y + 0.25 * p.z), accuracy: 1e-4)
        } } }
        XCTAssertEqual(volume.resampled(dims: volume.dims, filter: .area), volume)
    }

    /// The same bytes on every call; the filter names round-trip.
    func test_area_isDeterministic_andTheNamesAreLinearAndArea() {
        let volume = ImageVolume(dims: SIMD3(13, 11, 17), voxels: (0..<(13 * 11 * 17)).map { Float(($0 * 7919) % 101) / 7 })
        XCTAssertEqual(volume.resampled(dims: SIMD3(6, 5, 7), filter: .area), volume.resampled(dims: SIMD3(6, 5, 7), filter: .area))
        XCTAssertEqual(ResampleFilter.allCases.map(\.rawValue), ["linear", "area"])
    }
}
