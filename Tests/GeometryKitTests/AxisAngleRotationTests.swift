import XCTest
import GeometryKit

final class AxisAngleRotationTests: XCTestCase {
    func test_quarterTurnAboutZ_takesXToY() {
        let r = AxisAngleRotation(degrees: 90, about: SIMD3(0, 0, 2))
        let p = AxisAngleRotation.apply(r.matrix, SIMD3(1, 0, 0))
        XCTAssertEqual(p.x, 0, accuracy: 1e-12)
        XCTAssertEqual(p.y, 1, accuracy: 1e-12)
        XCTAssertEqual(p.z, 0, accuracy: 1e-12)
    }

    func test_rotation_keepsTheAxisAndLengths() {
        let axis = SIMD3(1.0, -2.0, 0.5)
        let r = AxisAngleRotation(degrees: 37, about: axis)
        let onAxis = AxisAngleRotation.apply(r.matrix, axis)
        XCTAssertEqual(((onAxis - axis) * (onAxis - axis)).sum(), 0, accuracy: 1e-20)
        let q = SIMD3(3.0, 1.0, -4.0), moved = AxisAngleRotation.apply(r.matrix, q)
        XCTAssertEqual((moved * moved).sum(), (q * q).sum(), accuracy: 1e-9)
    }
}
