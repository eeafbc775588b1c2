import Foundation
import ShapeModel

/// The shape parameters of one synthetic proximal femur with its shaft, in the
/// anatomical frame of a left femur (mm and degrees): +z superior along the shaft,
/// −x medial (towards the head), +y anterior; the origin is the top of the shaft axis.
///
/// Defaults are the mean femur (the template of the cohort); `sample(using:scale:)`
/// draws a subject whose parameters vary with correlated, realistic spreads.
public struct FemurAnatomy: Sendable, Equatable, Codable {
    /// Femoral head radius (real: 21–27 mm).
    public var headRadius = 22.0
    /// Neck base (on the shaft axis) to head centre.
    public var neckLength = 50.0
    /// Superior–inferior semi-axis of the neck at the head end.
    public var neckRadius = 12.5
    /// Anterior–posterior over superior–inferior semi-axis of the neck.
    public var neckFlattening = 0.8
    /// Angle between the neck axis and the shaft axis (real: 120–140°).
    public var neckShaftAngle = 128.0
    /// Forward twist of the neck out of the coronal plane (real: 5–25°).
    public var anteversion = 12.0
    /// Height of the neck base below the top of the shaft.
    public var neckBaseDepth = 12.0
    /// Shaft length below the top of the shaft axis.
    public var shaftLength = 84.0
    /// Medial–lateral semi-axis of the shaft at its distal end.
    public var shaftRadius = 13.0
    /// Proximal over distal shaft radius (the metaphyseal flare).
    public var shaftFlare = 1.35
    /// Anterior–posterior over medial–lateral semi-axis of the shaft.
    public var shaftEllipticity = 0.92
    /// Anterior bow of the shaft: sagitta of its centre line.
    public var shaftBow = 3.0
    /// Size of the greater trochanter relative to the mean.
    public var greaterTrochanterSize = 1.0
    /// Height of the greater trochanter's centre above its mean place.
    public var greaterTrochanterHeight = 0.0
    /// Anterior shift of the greater trochanter's centre.
    public var greaterTrochanterShift = 0.0
    /// Size of the lesser trochanter relative to the mean.
    public var lesserTrochanterSize = 1.0
    /// Height of the lesser trochanter's centre above its mean place.
    public var lesserTrochanterHeight = 0.0

    /// Heights (mm, outward positive) of smooth local bumps at fixed anatomical
    /// sites (`FemurShape.bumpSites`): the small independent variations of real
    /// bone surfaces that spread variance over many PCA modes.
    public var bumps = [Double](repeating: 0, count: FemurShape.bumpSites.count)

    /// The mean femur.
    public init() {}

    /// A subject drawn around `self`: an overall size factor (every length),
    /// two shared shape factors — varus/valgus (neck–shaft angle against neck
    /// length and trochanter height) and robustness (bone radii together) — and
    /// an independent term per parameter. Spreads are about one standard deviation
    /// of adult femurs; `scale` multiplies every spread (0 gives the mean).
    public func sample(using rng: inout SampleRandom, scale: Double = 1) -> FemurAnatomy {
        let size = 1 + scale * 0.05 * rng.normal()
        let varus = scale * rng.normal()
        let robust = scale * rng.normal()
        func jitter(_ sd: Double) -> Double { scale * sd * rng.normal() }
        var a = self
        a.headRadius = (headRadius + 0.8 * robust + jitter(1.0)) * size
        a.neckLength = (neckLength - 2.0 * varus + jitter(2.5)) * size
        a.neckRadius = (neckRadius + 0.6 * robust + jitter(0.8)) * size
        a.neckFlattening = neckFlattening + jitter(0.05)
        a.neckShaftAngle = neckShaftAngle + 4.0 * varus + jitter(2.5)
        a.anteversion = anteversion + jitter(5.0)
        a.neckBaseDepth = (neckBaseDepth + jitter(1.5)) * size
        a.shaftLength = (shaftLength + jitter(2.5)) * size
        a.shaftRadius = (shaftRadius + 0.7 * robust + jitter(0.6)) * size
        a.shaftFlare = shaftFlare + jitter(0.06)
        a.shaftEllipticity = shaftEllipticity + jitter(0.05)
        a.shaftBow = shaftBow + jitter(1.5)
        a.greaterTrochanterSize = greaterTrochanterSize + 0.04 * robust + jitter(0.07)
        a.greaterTrochanterHeight = (greaterTrochanterHeight - 2.0 * varus + jitter(2.0)) * size
        a.greaterTrochanterShift = (greaterTrochanterShift + jitter(2.0)) * size
        a.lesserTrochanterSize = lesserTrochanterSize + 0.05 * robust + jitter(0.12)
        a.lesserTrochanterHeight = (lesserTrochanterHeight + jitter(2.5)) * size
        a.bumps = bumps.map { ($0 + jitter(2.2)) * size }
        return a
    }

    /// Parameters that would make a degenerate or self-intersecting bone, as
    /// messages naming the parameter (empty when the femur is buildable).
    public var problems: [String] {
        var issues: [String] = []
        func need(_ ok: Bool, _ what: String) { if !ok { issues.append(what) } }
        need(headRadius > 5, "head radius \(headRadius) mm is not above 5 mm")
        need(neckRadius > 3 && neckRadius < headRadius, "neck radius \(neckRadius) mm is not between 3 mm and the head radius")
        need(neckLength > headRadius, "neck length \(neckLength) mm is not above the head radius")
        need(neckShaftAngle > 95 && neckShaftAngle < 175, "neck-shaft angle \(neckShaftAngle)° is outside 95–175°")
        need(shaftLength > 10, "shaft length \(shaftLength) mm is not above 10 mm")
        need(shaftRadius > 3, "shaft radius \(shaftRadius) mm is not above 3 mm")
        need(shaftFlare > 0.5 && shaftFlare < 3, "shaft flare \(shaftFlare) is outside 0.5–3")
        need(neckFlattening > 0.3 && neckFlattening <= 1.5, "neck flattening \(neckFlattening) is outside 0.3–1.5")
        need(shaftEllipticity > 0.3 && shaftEllipticity <= 1.5, "shaft ellipticity \(shaftEllipticity) is outside 0.3–1.5")
        need(greaterTrochanterSize > 0.2, "greater trochanter size \(greaterTrochanterSize) is not above 0.2")
        need(lesserTrochanterSize > 0.2, "lesser trochanter size \(lesserTrochanterSize) is not above 0.2")
        return issues
    }
}
