import Foundation
import XCTest
@testable import Stages

final class IntensityAugmentationTests: XCTestCase {
    private let shape = (d: 6, h: 5, w: 4)
    private var voxels: Int { shape.d * shape.h * shape.w }

    private func ramp(samples: Int) -> [Float] { (0..<(samples * voxels)).map { Float($0 % voxels) / Float(voxels) } }

    private func augmented(_ a: IntensityAugmentation, _ images: [Float], positions: [Int], epoch: Int = 1) -> [Float] {
        var x = images
        a.apply(to: &x, positions: positions, epoch: epoch, shape: shape)
        return x
    }

    func test_off_leavesImagesUnchanged() {
        let x = ramp(samples: 2)
        XCTAssertEqual(augmented(IntensityAugmentation(seed: 1), x, positions: [0, 1]), x)
        var zeroP = IntensityAugmentation(seed: 1)
        zeroP.scale = .init(magnitude: 0.5, probability: 0)
        XCTAssertEqual(augmented(zeroP, x, positions: [0, 1]), x, "probability 0 never fires")
    }

    func test_scaleAndShift_areOneAffineMapPerSampleWithinTheirRanges() {
        var a = IntensityAugmentation(seed: 7)
        a.scale = .init(magnitude: 0.2, probability: 1)
        a.shift = .init(magnitude: 0.3, probability: 1)
        let x = ramp(samples: 3)
        let y = augmented(a, x, positions: [4, 9, 11])
        for s in 0..<3 {
            let base = s * voxels
            // y = a x + b: from two voxels, then every voxel must agree.
            let factor = (y[base + 10] - y[base]) / (x[base + 10] - x[base]), offset = y[base] - factor * x[base]
            XCTAssertGreaterThanOrEqual(factor, 0.8 - 1e-5)
            XCTAssertLessThanOrEqual(factor, 1.2 + 1e-5)
            XCTAssertLessThanOrEqual(abs(offset), 0.3 + 1e-5)
            for i in 0..<voxels { XCTAssertEqual(y[base + i], factor * x[base + i] + offset, accuracy: 1e-5) }
        }
    }

    func test_sameSeedEpochAndSample_giveTheSameImage_whateverTheBatch() {
        var a = IntensityAugmentation(seed: 3)
        a.noise = .init(magnitude: 0.1, probability: 1)
        a.gamma = .init(magnitude: 0.3, probability: 0.5)
        a.blur = .init(magnitude: 1.5, probability: 0.5)
        let x = ramp(samples: 2)
        let together = augmented(a, x, positions: [5, 8], epoch: 2)
        let alone = augmented(a, Array(x[voxels...]), positions: [8], epoch: 2)
        XCTAssertEqual(Array(together[voxels...]), alone, "a sample's draws do not depend on its batch")
        XCTAssertNotEqual(augmented(a, x, positions: [5, 8], epoch: 3), together, "another epoch draws anew")
        XCTAssertEqual(augmented(a, x, positions: [5, 8], epoch: 2), together)
    }

    func test_noise_hasTheDrawnSpread() {
        var a = IntensityAugmentation(seed: 11)
        a.noise = .init(magnitude: 0.5, probability: 1)
        let x = [Float](repeating: 0, count: 4000)
        var y = x
        a.apply(to: &y, positions: [0], epoch: 1, shape: (d: 10, h: 20, w: 20))
        let mean = y.reduce(0, +) / Float(y.count)
        let std = (y.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(y.count)).squareRoot()
        XCTAssertLessThan(abs(mean), 4 * std / Float(y.count).squareRoot() + 1e-6)
        XCTAssertGreaterThan(std, 0)
        XCTAssertLessThanOrEqual(std, 0.5 * 1.1)
    }

    func test_gamma_keepsTheRangeAndTheOrder() {
        var a = IntensityAugmentation(seed: 2)
        a.gamma = .init(magnitude: 0.7, probability: 1)
        let x = ramp(samples: 1)
        let y = augmented(a, x, positions: [0])
        XCTAssertEqual(y.min(), x.min())
        XCTAssertEqual(y.max()!, x.max()!, accuracy: 1e-6)
        for i in 1..<voxels where x[i] > x[i - 1] { XCTAssertGreaterThanOrEqual(y[i], y[i - 1]) }
        XCTAssertNotEqual(y, x)
    }

    func test_blur_keepsAConstantImage_andSpreadsAPoint() {
        var buffer = [Float](repeating: 2, count: 9 * 9 * 9)
        buffer.withUnsafeMutableBufferPointer { IntensityAugmentation.blur($0, shape: (9, 9, 9), sigma: 1) }
        for v in buffer { XCTAssertEqual(v, 2, accuracy: 1e-5) }
        var point = [Float](repeating: 0, count: 9 * 9 * 9)
        point[4 * 81 + 4 * 9 + 4] = 1
        point.withUnsafeMutableBufferPointer { IntensityAugmentation.blur($0, shape: (9, 9, 9), sigma: 1) }
        XCTAssertEqual(point.reduce(0, +), 1, accuracy: 1e-5, "away from the edges the kernel keeps the sum")
        XCTAssertLessThan(point[4 * 81 + 4 * 9 + 4], 0.1)
        XCTAssertEqual(point[4 * 81 + 4 * 9 + 3], point[4 * 81 + 4 * 9 + 5], accuracy: 1e-7, "symmetric")
    }
}
