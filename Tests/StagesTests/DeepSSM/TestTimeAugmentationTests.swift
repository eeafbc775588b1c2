import Foundation
import GeometryKit
import XCTest
@testable import Stages
@testable import ShapeModel

final class TestTimeAugmentationTests: XCTestCase {
    private let dims = SIMD3(7, 6, 5)
    private let spacing = SIMD3(2.0, 1.5, 3.0)

    /// Two images of distinct voxel values (image s, voxel v: 1000 s + v).
    private func images() -> [Float] {
        (0..<420).map { (v: Int) -> Float in Float((v / 210) * 1000 + v % 210) }
    }

    private func index(_ i: Int, _ j: Int, _ k: Int) -> Int { (k * dims.y + j) * dims.x + i }

    func test_withoutMotion_theCopiesAreTheImages() {
        let tta = TestTimeAugmentation(copies: 3, rotationDegrees: 0, shift: 0, dims: dims, spacing: spacing)
        XCTAssertEqual(tta.copies, 3)
        for c in 1...2 {
            for (a, b) in zip(tta.moved(images(), count: 2, copy: c), images()) { XCTAssertEqual(a, b, accuracy: 1e-3) }
        }
    }

    func test_aShiftOfOneVoxel_movesTheImageByOneVoxel_andFillsWithTheBackground() {
        // The image moved by +1 voxel along x: output voxel i reads voxel i − 1.
        let tta = TestTimeAugmentation(motions: [SimilarityTransform(translation: SIMD3(spacing.x, 0, 0)).inverse],
                                       dims: dims, spacing: spacing)
        let input = images(), out = tta.moved(input, count: 2, copy: 1)
        for s in 0..<2 {
            let n = 210 * s
            var faces = [Float]()
            for k in 0..<5 { for j in 0..<6 { for i in 0..<7 where i == 0 || j == 0 || k == 0 || i == 6 || j == 5 || k == 4 {
                faces.append(input[n + index(i, j, k)])
            }}}
            let background = faces.sorted()[faces.count / 2]
            for k in 0..<5 { for j in 0..<6 {
                XCTAssertEqual(out[n + index(0, j, k)], background, "outside the grid: the image's background")
                for i in 1..<7 { XCTAssertEqual(out[n + index(i, j, k)], input[n + index(i - 1, j, k)], accuracy: 1e-3) }
            }}
        }
    }

    func test_aQuarterTurnAboutZ_onACube_permutesTheVoxels() {
        let cube = SIMD3(5, 5, 3), unit = SIMD3(1.0, 1.0, 1.0)
        // The image turned by +90° about z around the grid's centre: the output at
        // (x, y) reads the input at R⁻¹(x, y) = (y, −x) about the centre.
        let turn = SimilarityTransform(rotation: (SIMD3(0, -1, 0), SIMD3(1, 0, 0), SIMD3(0, 0, 1)))
        let tta = TestTimeAugmentation(motions: [turn.inverse], dims: cube, spacing: unit)
        let input = (0..<75).map(Float.init), out = tta.moved(input, count: 1, copy: 1)
        for k in 0..<3 { for j in 0..<5 { for i in 0..<5 {
            let (x, y) = (i - 2, j - 2)
            let (si, sj) = (y + 2, -x + 2)
            XCTAssertEqual(out[(k * 5 + j) * 5 + i], input[(k * 5 + sj) * 5 + si], accuracy: 1e-3, "voxel \(i) \(j) \(k)")
        }}}
    }

    func test_motions_areSeededByCopy_andHaveTheAskedSpread() {
        let a = TestTimeAugmentation(copies: 201, rotationDegrees: 3, shift: 2, dims: dims, spacing: spacing)
        let b = TestTimeAugmentation(copies: 5, rotationDegrees: 3, shift: 2, dims: dims, spacing: spacing)
        XCTAssertEqual(Array(a.motions.prefix(4)), b.motions, "copy c's motion does not depend on the number of copies")
        // The read map is the inverse of p ↦ R p + t: its translation is −Rᵀ t, of the same length.
        let shifts = a.motions.map { ($0.translation * $0.translation).sum() }
        XCTAssertEqual((shifts.reduce(0, +) / 200 / 3).squareRoot(), 2, accuracy: 0.3)
        let angles = a.motions.map { m -> Double in
            acos(min(1, max(-1, (m.rotation.0.x + m.rotation.1.y + m.rotation.2.z - 1) / 2))) * 180 / .pi
        }
        // Three N(0, 3°) angles: mean rotation angle 3° · √(8/π) ≈ 4.8°.
        XCTAssertEqual(angles.reduce(0, +) / 200, 4.8, accuracy: 0.6)
    }
}
