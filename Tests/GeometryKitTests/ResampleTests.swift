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
}
