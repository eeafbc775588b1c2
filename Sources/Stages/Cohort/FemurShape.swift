import Foundation

/// The implicit surface of one `FemurAnatomy`, in its anatomical frame: head
/// (sphere), neck (capsule of elliptic section, flared at the base), shaft
/// (tapered, anteriorly bowed elliptic cylinder with a domed top and a flat
/// distal cut), greater and lesser trochanters (ellipsoids), joined by smooth
/// unions. `signedDistance` is negative inside; it is a distance only near the
/// surface and away from the blends (use it for signs and projections, not as
/// an exact distance transform).
///
/// Correspondence: every primitive carries a chart (coordinates normalised by its
/// own size and pose). A point of one femur maps to another by expressing it in
/// each chart, rebuilding it from the other femur's charts, blending the results
/// with weights that favour the nearest primitives, and projecting onto the other
/// surface along the gradient (`corresponding(_:on:)`).
public struct FemurShape: Sendable {
    public let anatomy: FemurAnatomy
    /// Centre of the femoral head.
    public let headCentre: SIMD3<Double>
    /// Unit neck axis, from the neck base towards the head.
    public let neckAxis: SIMD3<Double>
    let neckBase: SIMD3<Double>
    let neckFrame: Frame
    let greaterTrochanter: (centre: SIMD3<Double>, frame: Frame, axes: SIMD3<Double>)
    let lesserTrochanter: (centre: SIMD3<Double>, frame: Frame, axes: SIMD3<Double>)
    let domeHeight: Double
    /// Bump centres on this femur (anatomical frame) and their heights.
    private(set) var bumps: [(centre: SIMD3<Double>, height: Double)]

    /// Where the surface bumps sit: a primitive (0 head, 1 neck, 2 shaft, 3 greater,
    /// 4 lesser trochanter) and a point of its chart on its surface, so each bump
    /// moves with the anatomy and stays at the same anatomical place.
    public static let bumpSites: [(primitive: Int, chart: SIMD3<Double>)] = [
        (0, SIMD3(0, 0.6, 0.8)), (0, SIMD3(0.7, 0, 0.7)), (0, SIMD3(-0.7, -0.2, 0.7)),
        (1, SIMD3(1, 0, 0.5)), (1, SIMD3(0, -1, 0.6)), (1, SIMD3(-1, 0, 0.4)),
        (3, SIMD3(0, 0, 1)), (3, SIMD3(0.6, 0.8, 0)), (3, SIMD3(0.6, -0.8, 0)),
        (4, SIMD3(1, 0, 0)),
        (2, SIMD3(0, 1, 0.5)), (2, SIMD3(-1, 0, 0.7)), (2, SIMD3(1, 0, 0.35)), (2, SIMD3(0, -1, 0.85)),
        (0, SIMD3(0, -0.6, 0.8)), (0, SIMD3(0.5, 0.5, 0.7)), (1, SIMD3(0, 1, 0.3)),
        (3, SIMD3(-0.5, 0, 0.85)), (3, SIMD3(1, 0, 0)), (4, SIMD3(0.5, 0.85, 0)),
        (2, SIMD3(1, 0, 0.9)), (2, SIMD3(0, 1, 0.2)), (2, SIMD3(0.7, -0.7, 0.6)), (2, SIMD3(-0.7, 0.7, 0.9)),
    ]
    /// Width (standard deviation, mm) of a bump.
    static let bumpWidth = 7.0

    // Smooth-union widths (mm): wide at the intertrochanteric region, narrow at the head.
    static let blendNeckShaft = 10.0, blendHead = 4.0, blendGreater = 8.0, blendLesser = 5.0
    // Width (mm) over which chart weights fall by e: a few mm keeps each anatomical
    // part mapped by its own primitive and blends smoothly where parts meet.
    static let chartBlend = 2.5

    public init(_ anatomy: FemurAnatomy) {
        self.anatomy = anatomy
        let a = anatomy
        let tilt = (180 - a.neckShaftAngle) * .pi / 180, twist = a.anteversion * .pi / 180
        let axis = SIMD3(-sin(tilt) * cos(twist), sin(tilt) * sin(twist), cos(tilt))
        neckAxis = axis
        neckBase = SIMD3(0, 0, -a.neckBaseDepth)
        headCentre = neckBase + a.neckLength * axis
        let superior = normalize(SIMD3(0, 0, 1) - axis.z * axis)
        neckFrame = Frame(x: cross(superior, axis), y: superior, z: axis)
        let proximal = a.shaftRadius * a.shaftFlare
        domeHeight = 0.8 * proximal
        // The greater trochanter sits lateral and slightly posterior at the top of
        // the shaft, leaning medially; the lesser one juts posteromedially below the neck.
        let lean = 12.0 * .pi / 180
        let gtFrame = Frame(x: SIMD3(cos(lean), 0, sin(lean)), y: SIMD3(0, 1, 0), z: SIMD3(-sin(lean), 0, cos(lean)))
        greaterTrochanter = (SIMD3(0.7 * proximal, -4 + a.greaterTrochanterShift, -1 + a.greaterTrochanterHeight),
                             gtFrame, a.greaterTrochanterSize * SIMD3(11, 15, 17))
        let ltZ = -30 + a.lesserTrochanterHeight
        let ltRadius = Self.shaftRadii(anatomy: a, t: -ltZ / a.shaftLength).x
        lesserTrochanter = (SIMD3(-0.7 * ltRadius, -0.7 * ltRadius, ltZ),
                            Frame(x: normalize(SIMD3(-1, -1, 0)), y: normalize(SIMD3(1, -1, 0)), z: SIMD3(0, 0, 1)),
                            a.lesserTrochanterSize * SIMD3(8, 7, 12))
        bumps = []
        bumps = zip(Self.bumpSites, a.bumps).compactMap { site, height in
            height == 0 ? nil : (chartPoint(site.primitive, site.chart), height)
        }
    }

    // MARK: implicit surface

    /// Approximate signed distance (mm, negative inside) of the whole femur.
    public func signedDistance(_ p: SIMD3<Double>) -> Double {
        let d = primitiveDistances(p)
        var f = Self.smoothMin(d[2], d[1], Self.blendNeckShaft)
        f = Self.smoothMin(f, d[0], Self.blendHead)
        f = Self.smoothMin(f, d[3], Self.blendGreater)
        f = Self.smoothMin(f, d[4], Self.blendLesser)
        let reach = 9 * Self.bumpWidth * Self.bumpWidth, spread = -0.5 / (Self.bumpWidth * Self.bumpWidth)
        for bump in bumps {
            let v = p - bump.centre, r2 = dot(v, v)
            if r2 < reach { f -= bump.height * exp(r2 * spread) }
        }
        return f
    }

    /// Distances to head, neck, shaft, greater and lesser trochanter (lanes 0–4).
    func primitiveDistances(_ p: SIMD3<Double>) -> PrimitiveDistances {
        var d = PrimitiveDistances()
        d[0] = length(p - headCentre) - anatomy.headRadius
        // Neck: nearest point of the axis segment, then an ellipsoidal distance
        // whose section shrinks from the flared base to the head.
        let v = p - neckBase
        let t = min(max(dot(v, neckAxis) / anatomy.neckLength, 0), 1)
        let w = neckFrame.local(v - t * anatomy.neckLength * neckAxis)
        let r = anatomy.neckRadius * (1.25 - 0.25 * t)
        d[1] = Self.ellipsoidDistance(w, SIMD3(anatomy.neckFlattening * r, r, r))
        d[2] = shaftDistance(p)
        d[3] = Self.ellipsoidDistance(greaterTrochanter.frame.local(p - greaterTrochanter.centre), greaterTrochanter.axes)
        d[4] = Self.ellipsoidDistance(lesserTrochanter.frame.local(p - lesserTrochanter.centre), lesserTrochanter.axes)
        return d
    }

    func shaftDistance(_ p: SIMD3<Double>) -> Double {
        let t = -p.z / anatomy.shaftLength
        let radii = Self.shaftRadii(anatomy: anatomy, t: t)
        let y = p.y - bow(t)
        if p.z > 0 {
            let top = Self.shaftRadii(anatomy: anatomy, t: 0)
            return Self.ellipsoidDistance(SIMD3(p.x, y, p.z), SIMD3(top.x, top.y, domeHeight))
        }
        let side = Self.ellipsoidDistance(SIMD3(p.x, y, 0), SIMD3(radii.x, radii.y, 1))
        return max(side, -anatomy.shaftLength - p.z)
    }

    /// Medial–lateral and anterior–posterior semi-axes of the shaft at `t`
    /// (0 at the top, 1 at the distal cut), tapering linearly.
    static func shaftRadii(anatomy a: FemurAnatomy, t: Double) -> SIMD2<Double> {
        let s = min(max(t, 0), 1)
        let rx = a.shaftRadius * (a.shaftFlare + (1 - a.shaftFlare) * s)
        return SIMD2(rx, rx * a.shaftEllipticity)
    }

    func bow(_ t: Double) -> Double {
        let s = min(max(t, 0), 1)
        return 4 * anatomy.shaftBow * s * (1 - s)
    }

    /// Polynomial smooth minimum (Quilez): equals `min` when the arguments differ
    /// by more than `k`, and rounds the crease within.
    static func smoothMin(_ a: Double, _ b: Double, _ k: Double) -> Double {
        let h = max(k - abs(a - b), 0) / k
        return min(a, b) - h * h * k * 0.25
    }

    /// Quilez's first-order ellipsoid distance: exact on the surface and its
    /// gradient direction, a close bound nearby.
    static func ellipsoidDistance(_ p: SIMD3<Double>, _ r: SIMD3<Double>) -> Double {
        let k0 = length(p / r), k1 = length(p / (r * r))
        return k1 > 0 ? k0 * (k0 - 1) / k1 : -r.min()
    }

    /// Gradient of `signedDistance` by central differences.
    public func gradient(_ p: SIMD3<Double>) -> SIMD3<Double> {
        let h = 1e-4
        return SIMD3(signedDistance(p + SIMD3(h, 0, 0)) - signedDistance(p - SIMD3(h, 0, 0)),
                     signedDistance(p + SIMD3(0, h, 0)) - signedDistance(p - SIMD3(0, h, 0)),
                     signedDistance(p + SIMD3(0, 0, h)) - signedDistance(p - SIMD3(0, 0, h))) / (2 * h)
    }

    /// `p` moved onto the surface along the gradient (Newton steps, each at most
    /// `maxStep` mm so a far start cannot jump across the bone).
    public func project(_ start: SIMD3<Double>, maxStep: Double = 3) -> SIMD3<Double> {
        var p = start
        for _ in 0..<50 {
            let f = signedDistance(p)
            if abs(f) < 1e-7 { break }
            let g = gradient(p)
            let g2 = dot(g, g)
            if g2 < 1e-12 { break }
            var step = f / g2 * g
            let n = length(step)
            if n > maxStep { step *= maxStep / n }
            p -= step
        }
        return p
    }

    // MARK: correspondence

    /// The point of `other` that corresponds to the surface point `p` of this femur.
    public func corresponding(_ p: SIMD3<Double>, on other: FemurShape) -> SIMD3<Double> {
        let d = primitiveDistances(p)
        let nearest = min(min(min(d[0], d[1]), min(d[2], d[3])), d[4])
        var sum = SIMD3<Double>.zero, weights = 0.0
        for k in 0..<5 {
            let w = exp(-(d[k] - nearest) / Self.chartBlend)
            if w < 1e-8 { continue }
            sum += w * other.chartPoint(k, chartCoordinates(k, p))
            weights += w
        }
        return other.project(sum / weights)
    }

    /// Coordinates of `p` in the chart of primitive `k`, normalised by its size.
    func chartCoordinates(_ k: Int, _ p: SIMD3<Double>) -> SIMD3<Double> {
        let a = anatomy
        switch k {
        case 0: return neckFrame.local(p - headCentre) / a.headRadius
        case 1: return neckFrame.local(p - neckBase) / SIMD3(a.neckFlattening * a.neckRadius, a.neckRadius, a.neckLength)
        case 2:
            let t = -p.z / a.shaftLength
            let radii = Self.shaftRadii(anatomy: a, t: t)
            let axial = p.z > 0 ? -p.z / domeHeight : t
            return SIMD3(p.x / radii.x, (p.y - bow(t)) / radii.y, axial)
        case 3: return greaterTrochanter.frame.local(p - greaterTrochanter.centre) / greaterTrochanter.axes
        default: return lesserTrochanter.frame.local(p - lesserTrochanter.centre) / lesserTrochanter.axes
        }
    }

    /// The point with chart coordinates `u` in primitive `k` (inverse of `chartCoordinates`).
    func chartPoint(_ k: Int, _ u: SIMD3<Double>) -> SIMD3<Double> {
        let a = anatomy
        switch k {
        case 0: return headCentre + neckFrame.global(u * a.headRadius)
        case 1: return neckBase + neckFrame.global(u * SIMD3(a.neckFlattening * a.neckRadius, a.neckRadius, a.neckLength))
        case 2:
            let z = u.z < 0 ? -u.z * domeHeight : -u.z * a.shaftLength
            let t = -z / a.shaftLength
            let radii = Self.shaftRadii(anatomy: a, t: t)
            return SIMD3(u.x * radii.x, u.y * radii.y + bow(t), z)
        case 3: return greaterTrochanter.centre + greaterTrochanter.frame.global(u * greaterTrochanter.axes)
        default: return lesserTrochanter.centre + lesserTrochanter.frame.global(u * lesserTrochanter.axes)
        }
    }

    // MARK: extent

    /// An axis-aligned box (min, max) that contains the bone, with room for the
    /// material the smooth unions add.
    public var boundingBox: (min: SIMD3<Double>, max: SIMD3<Double>) {
        let a = anatomy
        var lo = headCentre - a.headRadius, hi = headCentre + a.headRadius
        func include(_ l: SIMD3<Double>, _ h: SIMD3<Double>) {
            lo = pointwiseMin(lo, l); hi = pointwiseMax(hi, h)
        }
        let neckR = 1.25 * a.neckRadius
        include(pointwiseMin(neckBase, headCentre) - neckR, pointwiseMax(neckBase, headCentre) + neckR)
        let r0 = Self.shaftRadii(anatomy: a, t: 0), r1 = Self.shaftRadii(anatomy: a, t: 1)
        let rx = max(r0.x, r1.x), ry = max(r0.y, r1.y)
        include(SIMD3(-rx, -ry + min(0, a.shaftBow), -a.shaftLength), SIMD3(rx, ry + max(0, a.shaftBow), domeHeight))
        for (c, frame, axes) in [greaterTrochanter, lesserTrochanter] {
            let e = (frame.x * axes.x).squared + (frame.y * axes.y).squared + (frame.z * axes.z).squared
            include(c - e.squareRoot(), c + e.squareRoot())
        }
        let pad = Self.blendNeckShaft / 4 + 0.5
        return (lo - pad, hi + pad)
    }
}

/// Distances to the five primitives of a femur (a fixed-size value: no allocation
/// in the per-voxel path).
struct PrimitiveDistances {
    var head = 0.0, neck = 0.0, shaft = 0.0, greater = 0.0, lesser = 0.0

    subscript(k: Int) -> Double {
        get {
            switch k {
            case 0: return head
            case 1: return neck
            case 2: return shaft
            case 3: return greater
            default: return lesser
            }
        }
        set {
            switch k {
            case 0: head = newValue
            case 1: neck = newValue
            case 2: shaft = newValue
            case 3: greater = newValue
            default: lesser = newValue
            }
        }
    }
}

/// An orthonormal frame, as the images of the unit axes.
struct Frame: Sendable {
    var x: SIMD3<Double>, y: SIMD3<Double>, z: SIMD3<Double>

    func local(_ v: SIMD3<Double>) -> SIMD3<Double> { SIMD3(dot(v, x), dot(v, y), dot(v, z)) }
    func global(_ u: SIMD3<Double>) -> SIMD3<Double> { u.x * x + u.y * y + u.z * z }
}

extension SIMD3 where Scalar == Double {
    /// Component-wise square (for the extents of a rotated ellipsoid).
    fileprivate var squared: SIMD3<Double> { self * self }
}

fileprivate func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }
fileprivate func length(_ a: SIMD3<Double>) -> Double { dot(a, a).squareRoot() }
fileprivate func normalize(_ a: SIMD3<Double>) -> SIMD3<Double> { a / length(a) }
fileprivate func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
