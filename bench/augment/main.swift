// Throughput and accuracy of the augmentation warp at full femur size.
//
//   swift run -c release augment-bench [--images N] [--exact-images M]
//                                      [--step S] [--radius R] [--threads T] [--probe]
//
// Each generated image: fit a thin-plate spline on 512 landmarks (one LU solve),
// evaluate the spline at the coarse nodes ("field"), then a layer of cells at a
// time build the near-landmark terms and resample 105 × 128 × 137 voxels
// ("resample"). The exact per-voxel warp runs on the same inputs as the reference.
//
// --stage-samples N runs the stage's own path (SampleGenerator.writeShard:
// `threads` samples in flight, each warped on one thread, written in order to
// HDF5 shards of 32 under $TMPDIR, deleted at the end; about 7.4 MB per sample).
import Foundation
import ShapeModel
import GeometryKit
import Stages

struct Options {
    var images = 32, exactImages = 2, step = 2, radius = 10, threads = 2, probe = false
    /// Generate this many samples through `SampleGenerator.writeShard` (shards
    /// of 32 written to a temporary directory), reporting rate and peak RSS.
    var stageSamples = 0
    /// Compare the KDE noise models on the training shapes (needs no images).
    var noiseStudy = false
    var gzip = 0
    /// Print a hash of every coarse-warped voxel (to compare builds and thread counts).
    var hash = false
    /// A directory of `.particles` files (world frame): landmarks then come from
    /// real shapes, KDE-generated shape → base shape, instead of the ellipsoid.
    var particles: String?

    init(_ args: [String]) {
        var i = 1
        func value() -> Int { i += 1; return Int(args[i]) ?? 0 }
        while i < args.count {
            switch args[i] {
            case "--images": images = value()
            case "--exact-images": exactImages = value()
            case "--step": step = value()
            case "--radius": radius = value()
            case "--threads": threads = value()
            case "--probe": probe = true
            case "--hash": hash = true
            case "--stage-samples": stageSamples = value()
            case "--noise-study": noiseStudy = true
            case "--gzip": gzip = value()
            case "--particles": i += 1; particles = args[i]
            default: fatalError("unknown option \(args[i])")
            }
            i += 1
        }
    }
}

let dims = SIMD3(105, 128, 137)
let options = Options(CommandLine.arguments)

/// A femur-sized ellipsoid image (semi-axes 40 × 30 × 60 mm, 1 mm voxels) with
/// bone-like intensities and some texture, so resampling reads real values.
func femurLikeImage() -> ImageVolume {
    var image = ImageVolume(dims: dims, spacing: .one, origin: SIMD3(-52, -64, -68))
    for z in 0..<dims.z { for y in 0..<dims.y { for x in 0..<dims.x {
        let p = image.point(SIMD3(Double(x), Double(y), Double(z)))
        let r = (p.x * p.x / 1600 + p.y * p.y / 900 + p.z * p.z / 3600).squareRoot()
        image[x, y, z] = Float(1200 / (1 + exp(10 * (r - 1))) + 40 * sin(p.x / 3) * cos(p.y / 5))
    } } }
    return image
}

/// Landmarks on the ellipsoid and a generated shape: a smooth deformation of a
/// few mm plus 0.3 mm per-axis noise, the size of a real femur's residual
/// outside 6 PCA modes (0.5 mm RMS per particle, measured on 40 femurs).
func landmarks(sample: Int, count: Int = 512) -> (generated: [SIMD3<Double>], base: [SIMD3<Double>]) {
    let golden = Double.pi * (3 - 5.0.squareRoot())
    var random = SampleRandom(seed: 99, index: UInt64(sample))
    let base = (0..<count).map { i -> SIMD3<Double> in
        let y = 1 - 2 * (Double(i) + 0.5) / Double(count), r = (1 - y * y).squareRoot(), t = golden * Double(i)
        return SIMD3(40 * r * cos(t), 30 * r * sin(t), 60 * y)
    }
    let (a, b, c) = (random.normal() * 2, random.normal() * 2, random.normal() * 2)
    let generated = base.map { p in
        p + SIMD3(a * sin(p.z / 20), b * cos(p.x / 15), c * sin(p.y / 12) + 0.5 * a)
            + SIMD3(random.normal(), random.normal(), random.normal()) * 0.3
    }
    return (generated, base)
}

/// User + system CPU seconds of the whole process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Peak resident set size of this process, in MiB (Linux reports KiB).
func peakRSS() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Real shapes: PCA (6 modes) of the first 40 files, KDE draws (whitened noise);
/// landmarks map each generated shape to its base shape, both centred on the image.
struct RealShapes {
    let shapes: [ParticleSet]
    let model: PCAModel
    let sampler: KDESampler

    init(directory: String) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".particles") }.sorted().prefix(40)
        shapes = try files.map { name in
            let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            let values = text.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
            return ParticleSet(flattened: values)
        }
        model = try PCAModel.fit(shapes, numModes: 6)
        sampler = try KDESampler(scores: model.scores, noise: .whitened)
    }

    func landmarks(sample: Int) -> (generated: [SIMD3<Double>], base: [SIMD3<Double>]) {
        var random = SampleRandom(seed: 1, index: UInt64(sample))
        let draw = sampler.draw(&random)
        let centre = shapes[0].points.reduce(.zero, +) / Double(shapes[0].count)
        return (model.reconstruct(scores: draw.scores).points.map { $0 - centre },
                shapes[draw.base].points.map { $0 - centre })
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// CPU seconds (all threads) spent in `body`.
func cpu(_ body: () throws -> Void) rethrows -> Double {
    let start = cpuSeconds()
    try body()
    return cpuSeconds() - start
}

if options.noiseStudy {
    // How far KDE samples move from their base shape, per noise model.
    let shapes: [ParticleSet]
    if let directory = options.particles {
        shapes = try RealShapes(directory: directory).shapes
    } else {
        shapes = (0..<40).map { ParticleSet(points: landmarks(sample: 1000 + $0).generated) }
    }
    let model = try PCAModel.fit(shapes, numModes: 6)
    let stats = try ScoreStatistics(model.scores)
    let nearestNeighbour = model.scores.indices.map { i in
        model.scores.indices.filter { $0 != i }.map { stats.mahalanobisSquared(model.scores[i], model.scores[$0]).squareRoot() }.min()!
    }.reduce(0, +) / Double(model.scores.count)
    print(String(format: "%d shapes, K = 6 (%.1f %% of variance); mean nearest-neighbour Mahalanobis distance between originals %.3f",
                 shapes.count, model.varianceKept * 100, nearestNeighbour))
    for noise in KDESampler.Noise.allCases {
        let kde = try KDESampler(scores: model.scores, noise: noise)
        let n = 5000
        var maha = 0.0, particleRMS = 0.0, sameNearest = 0
        var variance = [Double](repeating: 0, count: 6), mean = [Double](repeating: 0, count: 6)
        var draws: [SampleDraw] = []
        for i in 1...n {
            var random = SampleRandom(seed: 1, index: UInt64(i))
            let draw = kde.draw(&random)
            draws.append(draw)
            maha += stats.mahalanobisSquared(draw.scores, model.scores[draw.base]).squareRoot() / Double(n)
            let moved = model.reconstruct(scores: draw.scores).points, base = model.reconstruct(scores: model.scores[draw.base]).points
            particleRMS += (zip(moved, base).map { ($0 - $1) * ($0 - $1) }.map { $0.sum() }.reduce(0, +) / Double(moved.count)).squareRoot() / Double(n)
            let nearest = stats.nearest(to: draw.scores, among: model.scores)
            if nearest == draw.base { sameNearest += 1 }
            for k in 0..<6 { mean[k] += draw.scores[k] / Double(n) }
        }
        for d in draws { for k in 0..<6 { variance[k] += (d.scores[k] - mean[k]) * (d.scores[k] - mean[k]) / Double(n - 1) } }
        let spread = (0..<6).map { (variance[$0] / stats.covariance[$0 * 6 + $0]).squareRoot() }
        print(String(format: "kde_noise %@: h = %.4f; mean Mahalanobis distance to base %.3f (%.2f × the originals' nearest-neighbour distance); particles move %.3f mm RMS from the base; base is still the nearest original for %.1f %%; generated/original std per mode %@",
                     noise.rawValue, kde.bandwidth, maha, maha / nearestNeighbour, particleRMS, Double(sameNearest) / Double(n) * 100,
                     spread.map { String(format: "%.3f", $0) }.joined(separator: " ")))
    }
    exit(0)
}

let image = femurLikeImage()
let real = try options.particles.map { try RealShapes(directory: $0) }
func pair(_ sample: Int) -> (generated: [SIMD3<Double>], base: [SIMD3<Double>]) {
    real?.landmarks(sample: sample) ?? landmarks(sample: sample)
}
if let real {
    print("real shapes: \(real.shapes.count) × \(real.shapes[0].count) particles, kde bandwidth \(real.sampler.bandwidth)")
}
print("image \(dims.x) × \(dims.y) × \(dims.z), 512 landmarks, \(options.threads) threads")

if options.probe {
    // Largest mapping error (voxels) of the coarse field against the exact spline.
    let (generated, base) = pair(0)
    let spline = try ThinPlateSpline(from: generated, to: base)
    for step in [2, 3, 4] {
        var line = "step \(step):"
        for radius in [0, 4, 6, 8, 12] {
            let warp = ImageWarp(gridStep: step, correctionRadius: radius, threads: options.threads)
            let error = warp.maxFieldError(for: image, spline: spline, sampleStride: 5)
            line += String(format: "  r%-2d %.4f", radius, error)
        }
        print(line)
    }
}

let warp = ImageWarp(gridStep: options.step, correctionRadius: options.radius, threads: options.threads)
var solve = 0.0, field = 0.0, resample = 0.0, worstError = 0.0, checksum = 0.0
/// FNV-1a over every generated voxel's bits: equal across thread counts and builds that compute the same warp.
var imageHash: UInt64 = 0xcbf29ce484222325
let cpuStart = cpuSeconds()
let total = try seconds {
    for i in 0..<options.images {
        let (generated, base) = pair(i)
        var spline: ThinPlateSpline?
        solve += try cpu { spline = try ThinPlateSpline(from: generated, to: base) }
        var f: DisplacementField?
        field += cpu { f = warp.field(for: image, spline: spline!) }
        var out: ImageVolume?
        resample += cpu { out = warp.apply(to: image, field: f!) }
        checksum += Double(out!.voxels[out!.count / 2])
        if options.hash { for v in out!.voxels { imageHash = (imageHash ^ UInt64(v.bitPattern)) &* 0x100000001b3 } }
    }
}
let cpuPerImage = (cpuSeconds() - cpuStart) / Double(options.images)
print(String(format: "coarse warp (step %d, radius %d): %d images in %.2f s = %.2f images/s; %.0f ms CPU per image (%.1f images/s if %d threads had their cores)",
             options.step, options.radius, options.images, total, Double(options.images) / total,
             cpuPerImage * 1000, Double(options.threads) / cpuPerImage, options.threads))
print(String(format: "  CPU per image: solve %.1f ms, field (coarse nodes) %.1f ms, near terms + resample %.1f ms",
             solve / Double(options.images) * 1000, field / Double(options.images) * 1000, resample / Double(options.images) * 1000))
if options.hash { print(String(format: "  voxel hash %016llx (timings include hashing)", imageHash)) }

var exactTotal = 0.0, worstVoxel: Float = 0, exactCPU = 0.0
for i in 0..<options.exactImages {
    let (generated, base) = pair(i)
    let spline = try ThinPlateSpline(from: generated, to: base)
    var exact: ImageVolume?
    let before = cpuSeconds()
    exactTotal += seconds { exact = warp.applyExact(to: image, spline: spline) }
    exactCPU += cpuSeconds() - before
    let fast = warp.apply(to: image, spline: spline)
    worstVoxel = max(worstVoxel, zip(fast.voxels, exact!.voxels).map { abs($0 - $1) }.max() ?? 0)
    worstError = max(worstError, warp.maxFieldError(for: image, spline: spline, sampleStride: 5))
}
if options.exactImages > 0 {
    print(String(format: "exact per-voxel warp: %d images in %.2f s = %.3f images/s; %.0f ms CPU per image; speed-up %.0f× (wall), %.0f× (CPU)",
                 options.exactImages, exactTotal, Double(options.exactImages) / exactTotal, exactCPU / Double(options.exactImages) * 1000,
                 (Double(options.images) / total) / (Double(options.exactImages) / exactTotal),
                 exactCPU / Double(options.exactImages) / cpuPerImage))
    print(String(format: "coarse vs exact: max mapping error %.4f voxel (every 5th voxel per axis), max intensity difference %.2f (range 0–1240)",
                 worstError, worstVoxel))
}
print(String(format: "4960 images at this rate: %.1f min", 4960 / (Double(options.images) / total) / 60))

if options.stageSamples > 0 {
    // The stage's own path: 40 training shapes, PCA, KDE, shards of 32 samples,
    // `threads` samples in flight (one thread each), streamed to HDF5 in order.
    let shapes: [ParticleSet]
    if let real {
        let centre = real.shapes[0].points.reduce(.zero, +) / Double(real.shapes[0].count)
        shapes = real.shapes.map { ParticleSet(points: $0.points.map { $0 - centre }) }
    } else {
        shapes = (0..<40).map { s in
            let (generated, _) = landmarks(sample: 1000 + s)
            return ParticleSet(points: generated)
        }
    }
    let model = try PCAModel.fit(shapes, numModes: 6)
    let sampler = try KDESampler(scores: model.scores, noise: .whitened)
    // Local frame = world frame shifted by a few mm per subject.
    let local = shapes.enumerated().map { s, shape in ParticleSet(points: shape.points.map { $0 + SIMD3(Double(s % 5) - 2, 0, 0) }) }
    let generator = SampleGenerator(model: model, sampler: sampler, seed: 1, world: shapes, local: local, landmarkStride: 1,
                                    warp: ImageWarp(gridStep: options.step, correctionRadius: options.radius, threads: 1),
                                    loadImage: { s in
                                        // A distinct base image per training shape, as in the stage, which
                                        // keeps every base image it has read (40 × 7.4 MB here).
                                        ImageVolume(dims: image.dims, spacing: image.spacing, origin: image.origin,
                                                    voxels: image.voxels.map { $0 + Float(s) })
                                    })
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("augment-bench-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var bytes = 0
    let cpuBefore = cpuSeconds()
    let wall = try seconds {
        for first in stride(from: 1, through: options.stageSamples, by: 32) {
            let url = directory.appendingPathComponent("shard-\(first).h5")
            try generator.writeShard(to: url, first: first, count: min(32, options.stageSamples - first + 1),
                                     threads: options.threads, gzipLevel: options.gzip > 0 ? options.gzip : nil)
            bytes += (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        }
    }
    let cpuPer = (cpuSeconds() - cpuBefore) / Double(options.stageSamples)
    print(String(format: "stage path (%d samples, shards of 32, gzip %d): %.2f s = %.2f images/s; %.0f ms CPU per image (%.1f images/s on %d free cores); %.1f MB per image on disk; peak RSS %.0f MiB",
                 options.stageSamples, options.gzip, wall, Double(options.stageSamples) / wall, cpuPer * 1000,
                 Double(options.threads) / cpuPer, options.threads, Double(bytes) / Double(options.stageSamples) / 1e6, peakRSS()))
}
_ = checksum
