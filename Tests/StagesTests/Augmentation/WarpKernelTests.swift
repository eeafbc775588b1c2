import XCTest
import CWarpKernels
@testable import Stages
@testable import ShapeModel

final class WarpKernelTests: XCTestCase {
    /// Landmarks, weights and node rows of femur-like size (±70 mm, weights of
    /// either sign), from a seeded stream.
    private func row(groups: Int, landmarks n: Int) -> (xs: [Float], cx: [Float], e: [Float], w: [[Float]]) {
        var random = SampleRandom(seed: 12, index: 0)
        let xs = (0..<(groups * 8)).map { Float(-52 + 2 * Double($0)) }
        let cx = (0..<n).map { _ in Float(random.normal() * 30) }
        let e = (0..<n).map { _ in Float(abs(random.normal()) * 40) }
        let w = (0..<3).map { _ in (0..<n).map { _ in Float(random.normal() * 0.05) } }
        return (xs, cx, e, w)
    }

    func test_nodeRow_dispatchedAndPortableKernelsGiveTheSameBits_andMatchDoublePrecision() {
        let groups = 7, n = 300
        let (xs, cx, e, w) = row(groups: groups, landmarks: n)
        var (ax, ay, az) = ([Double](repeating: .nan, count: groups * 8), [Double](repeating: .nan, count: groups * 8),
                            [Double](repeating: .nan, count: groups * 8))
        var (bx, by, bz) = (ax, ay, az)
        ssm_tps_node_row(xs, Int32(groups), cx, e, w[0], w[1], w[2], Int32(n), &ax, &ay, &az)
        ssm_tps_node_row_portable(xs, Int32(groups), cx, e, w[0], w[1], w[2], Int32(n), &bx, &by, &bz)
        let a = [ax, ay, az], b = [bx, by, bz]
        XCTAssertEqual(a, b, "AVX: \(ssm_tps_node_row_uses_avx())")
        for lane in 0..<(groups * 8) {
            for axis in 0..<3 {
                var exact = 0.0
                for m in 0..<n {
                    let t = Double(xs[lane]) - Double(cx[m]), q = Double(e[m])
                    exact += Double(w[axis][m]) * (t * t + q * q).squareRoot()
                }
                XCTAssertEqual(a[axis][lane], exact, accuracy: 1e-4, "lane \(lane), axis \(axis)")
            }
        }
    }

    func test_subScaled_isAMultiplyThenSubtractionPerElement() {
        var random = SampleRandom(seed: 13, index: 0)
        for n in [0, 1, 3, 4, 7, 517] {
            let x = (0..<n).map { _ in random.normal() }, y = (0..<n).map { _ in random.normal() }
            let f = random.normal()
            var out = y
            ssm_sub_scaled(&out, x, f, Int32(n))
            XCTAssertEqual(out, zip(y, x).map { $0 - f * $1 }, "n = \(n)")
        }
    }
}
