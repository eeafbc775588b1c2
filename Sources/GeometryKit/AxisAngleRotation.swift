import Foundation

/// A rotation by an angle about an axis (Rodrigues' formula), as a row-major
/// 3 × 3 matrix: what moved test images and registration checks are made with.
public struct AxisAngleRotation: Sendable, Equatable {
    /// Row-major rotation matrix.
    public let matrix: [Double]

    public init(degrees: Double, about axis: SIMD3<Double>) {
        let a = axis / (axis * axis).sum().squareRoot(), t = degrees * .pi / 180
        let c = cos(t), s = sin(t), C = 1 - c
        matrix = [c + a.x * a.x * C, a.x * a.y * C - a.z * s, a.x * a.z * C + a.y * s,
                  a.y * a.x * C + a.z * s, c + a.y * a.y * C, a.y * a.z * C - a.x * s,
                  a.z * a.x * C - a.y * s, a.z * a.y * C + a.x * s, c + a.z * a.z * C]
    }

    /// `m · p` for a row-major 3 × 3 matrix `m`.
    public static func apply(_ m: [Double], _ p: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(m[0] * p.x + m[1] * p.y + m[2] * p.z, m[3] * p.x + m[4] * p.y + m[5] * p.z, m[6] * p.x + m[7] * p.y + m[8] * p.z)
    }
}
