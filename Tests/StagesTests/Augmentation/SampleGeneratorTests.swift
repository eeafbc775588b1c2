import XCTest
import GeometryKit
import HDF5Kit
@testable import Stages
@testable import ShapeModel

final class SampleGeneratorTests: XCTestCase {
    /// Ellipsoid shapes varying along a few modes, a blob image per shape, and a
    /// generator with the stage's defaults (step 2, radius 10, one thread per warp).
    private func makeGenerator(warpThreads: Int = 1, randomBase: Bool = false, keepResidual: Bool = false,
                               poseJitter: (rotation: Double, shift: Double, scale: Double) = (0, 0, 0)) throws -> SampleGenerator {
        let golden = Double.pi * (3 - 5.0.squareRoot())
        let shapes = (0..<8).map { s -> ParticleSet in
            var random = SampleRandom(seed: 31, index: UInt64(s))
            let axes = SIMD3(8 + random.normal(), 10 + random.normal(), 12 + random.normal())
            return ParticleSet(points: (0..<64).map { i in
                let z = 1 - 2 * (Double(i) + 0.5) / 64, r = (1 - z * z).squareRoot(), t = golden * Double(i)
                return SIMD3(r * cos(t), r * sin(t), z) * axes + SIMD3(random.normal(), random.normal(), random.normal()) * 0.2
            })
        }
        let model = try PCAModel.fit(shapes, numModes: 3)
        let sampler = try KDESampler(scores: model.scores, noise: .whitened)
        let images = (0..<shapes.count).map { s -> ImageVolume in
            var image = ImageVolume(dims: SIMD3(26, 30, 34), spacing: SIMD3(1, 1, 1.25), origin: SIMD3(-13, -15, -21))
            for z in 0..<image.dims.z { for y in 0..<image.dims.y { for x in 0..<image.dims.x {
                let p = image.point(SIMD3(Double(x), Double(y), Double(z)))
                let r = (p.x * p.x / 81 + p.y * p.y / 121 + p.z * p.z / 169).squareRoot()
                image[x, y, z] = Float(1000 / (1 + exp(8 * (r - 1)))) + Float(s)
            } } }
            return image
        }
        return SampleGenerator(model: model, sampler: sampler, seed: 5, world: shapes, local: shapes, landmarkStride: 1,
                               warp: ImageWarp(gridStep: 2, correctionRadius: 10, threads: warpThreads),
                               randomBase: randomBase, keepResidual: keepResidual, poseJitter: poseJitter, loadImage: { images[$0] })
    }

    /// Image s is a blob over a background of s; voxels the warp reads from
    /// outside the source image are 0. So the lowest value of at least 0.5,
    /// rounded down, is s (for s = 0, the blob's tail: 0.5 and up).
    private static func background(_ image: ImageVolume) -> Int {
        Int(image.voxels.filter { $0 >= 0.5 }.min()!.rounded(.down))
    }

    func test_randomBase_keepsTheShapes_drawsBasesOverAllSubjects_andWarpsTheDrawnBasesImage() throws {
        let kernel = try makeGenerator(), random = try makeGenerator(randomBase: true)
        let again = try makeGenerator(randomBase: true)
        var bases: [Int] = [], differing = 0
        for i in 1...48 {
            let a = try kernel.sample(i), b = try random.sample(i)
            // The sampler's draw is untouched: the same scores, shapes and frame.
            XCTAssertEqual(a.scores, b.scores, "sample \(i)")
            XCTAssertEqual(a.world.flattened, b.world.flattened, "sample \(i)")
            XCTAssertEqual(a.local.flattened, b.local.flattened, "sample \(i)")
            XCTAssertEqual(a.nearest, b.nearest)
            // Image s has background s: the background level tells whose image was warped.
            XCTAssertEqual(Self.background(b.image), b.base, "sample \(i) warps base \(b.base)")
            XCTAssertEqual(Self.background(a.image), a.base, "sample \(i) warps base \(a.base)")
            if i <= 6 { XCTAssertEqual(try again.sample(i).image.voxels, b.image.voxels, "sample \(i): the base is seeded") }
            bases.append(b.base)
            if a.base != b.base { differing += 1 }
        }
        XCTAssertEqual(Set(bases), Set(0..<8), "48 draws reach every one of the 8 subjects")
        XCTAssertGreaterThan(differing, 30, "about 7 in 8 bases differ from the kernel's")
    }

    func test_keepResidual_addsTheBasesOutOfModelPart_keepsTheScores_andWarpsLess() throws {
        let plain = try makeGenerator(), kept = try makeGenerator(keepResidual: true)
        let model = kept.model
        var warpPlain = 0.0, warpKept = 0.0
        for i in 1...24 {
            let a = try plain.sample(i), b = try kept.sample(i)
            XCTAssertEqual(a.scores, b.scores, "sample \(i): the sampler's draw is untouched")
            XCTAssertEqual(a.base, b.base)
            // The generated shape is the model's shape plus the base's residual,
            // computed here independently from the base's world shape.
            let base = kept.world[b.base]
            let baseInModel = model.reconstruct(scores: model.project(base))
            let expected = zip(zip(a.world.flattened, base.flattened), baseInModel.flattened).map { $0.0 + $0.1 - $1 }
            for (x, y) in zip(b.world.flattened, expected) { XCTAssertEqual(x, y, accuracy: 1e-9, "sample \(i)") }
            // The residual is orthogonal to the modes: projecting gives the drawn scores back.
            for (z, s) in zip(model.project(b.world), b.scores) { XCTAssertEqual(z, s, accuracy: 1e-9, "sample \(i)") }
            // And the residual is not nothing: the shapes differ.
            let moved = zip(a.world.flattened, b.world.flattened).map { abs($0 - $1) }.max()!
            XCTAssertGreaterThan(moved, 0.05, "sample \(i)")
            // The warp moves the base's particles less: only within the model.
            func rms(_ p: ParticleSet, _ q: ParticleSet) -> Double {
                (zip(p.flattened, q.flattened).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(p.count)).squareRoot()
            }
            warpPlain += rms(a.local, kept.local[a.base]); warpKept += rms(b.local, kept.local[b.base])
        }
        XCTAssertLessThan(warpKept, warpPlain, "keeping the base's residual shortens the warp")
        XCTAssertEqual(try kept.sample(3).image.voxels, try makeGenerator(keepResidual: true).sample(3).image.voxels, "seeded bytes repeat")
    }

    func test_poseJitter_movesTheLocalShapeBySimilarity_keepsScoresAndWorld_andTheImageFollows() throws {
        let sd = 4 * Double.pi / 180
        let plain = try makeGenerator(), moved = try makeGenerator(poseJitter: (rotation: sd, shift: 1.5, scale: 0.05))
        var angles: [Double] = [], shifts: [Double] = [], logScales: [Double] = []
        for i in 1...40 {
            let a = try plain.sample(i), b = try moved.sample(i)
            XCTAssertEqual(a.scores, b.scores, "sample \(i)")
            XCTAssertEqual(a.world.flattened, b.world.flattened, "sample \(i)")
            XCTAssertEqual(a.base, b.base)
            // A similarity: the best one from the plain to the moved local shape fits exactly.
            let t = SimilarityTransform.umeyama(from: a.local.points, to: b.local.points)
            logScales.append(log(t.scale))
            for (p, q) in zip(a.local.points, b.local.points) { XCTAssertLessThan(length3(t.apply(p) - q), 1e-8) }
            let trace = t.rotation.0.x + t.rotation.1.y + t.rotation.2.z
            angles.append(acos(min(1, max(-1, (trace - 1) / 2))))
            let ca = a.local.points.reduce(.zero, +) / Double(a.local.count), cb = b.local.points.reduce(.zero, +) / Double(b.local.count)
            shifts.append(length3(cb - ca))
            if i <= 3 {
                // The image follows the shape: the moved blob's intensity-weighted
                // centre moves with the particles' centroid (within a voxel).
                func centre(_ image: ImageVolume) -> SIMD3<Double> {
                    var sum = SIMD3<Double>.zero, weight = 0.0
                    for z in 0..<image.dims.z { for y in 0..<image.dims.y { for x in 0..<image.dims.x {
                        let v = Double(image[x, y, z]); guard v > 200 else { continue }
                        sum += image.point(SIMD3(Double(x), Double(y), Double(z))) * v; weight += v
                    } } }
                    return sum / weight
                }
                XCTAssertLessThan(length3((centre(b.image) - centre(a.image)) - (cb - ca)), 1.0, "sample \(i)")
                XCTAssertEqual(try moved.sample(i).image.voxels, b.image.voxels, "sample \(i): the motion is seeded")
            }
        }
        // The rotation angle of three N(0, sd) axis angles has mean sd·√(8/π) ≈ 1.6 sd;
        // the shift of three N(0, 1.5 mm) has mean 1.5·1.6 mm.
        let meanAngle = angles.reduce(0, +) / 40, meanShift = shifts.reduce(0, +) / 40
        XCTAssertEqual(meanAngle / sd, 1.6, accuracy: 0.35)
        XCTAssertEqual(meanShift / 1.5, 1.6, accuracy: 0.35)
        let scaleSD = (logScales.map { $0 * $0 }.reduce(0, +) / 40).squareRoot()
        XCTAssertEqual(scaleSD, 0.05, accuracy: 0.015)
        // Rotation alone is rigid.
        let rigid = try makeGenerator(poseJitter: (rotation: sd, shift: 0, scale: 0))
        XCTAssertEqual(SimilarityTransform.umeyama(from: try plain.sample(5).local.points, to: try rigid.sample(5).local.points).scale, 1, accuracy: 1e-9)
    }

    func test_writeShard_givesTheSameBytesForOneTwoOrThreeThreads_andStoresWhatSampleComputes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ssmflow-generator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let generator = try makeGenerator()
        var files: [Data] = []
        for threads in [1, 2, 3] {
            let url = directory.appendingPathComponent("shard-\(threads).h5")
            try generator.writeShard(to: url, first: 3, count: 7, threads: threads, gzipLevel: nil)
            files.append(try Data(contentsOf: url))
        }
        XCTAssertEqual(files[0], files[1], "1 and 2 threads differ")
        XCTAssertEqual(files[0], files[2], "1 and 3 threads differ")
        // Each stored sample is the sample computed alone, also with a two-thread warp.
        let stack = try SampleStack(contentsOf: directory.appendingPathComponent("shard-2.h5"))
        let twoThreadWarp = try makeGenerator(warpThreads: 2)
        for j in [0, 4, 6] {
            let stored: [Float] = try stack.sample("images", j)
            XCTAssertEqual(stored, try generator.sample(3 + j).image.voxels, "sample \(3 + j)")
            XCTAssertEqual(stored, try twoThreadWarp.sample(3 + j).image.voxels, "sample \(3 + j), two-thread warp")
            let scores: [Double] = try stack.sample("scores", j)
            XCTAssertEqual(scores, try generator.sample(3 + j).scores)
        }
    }
}

final class OrderedWorkTests: XCTestCase {
    private struct Failure: Error, Equatable { let index: Int }

    func test_resultsComeInIndexOrder_withAtMostWindowItemsStartedAheadOfTheReader() throws {
        let lock = NSLock()
        nonisolated(unsafe) var started: [Int] = []
        let work = OrderedWork<Int>(count: 40, workers: 3, window: 4) { i in
            lock.withLock { started.append(i) }
            usleep(UInt32((i * 7919) % 5) * 300)
            return i * i
        }
        defer { work.stop() }
        for i in 0..<40 {
            XCTAssertEqual(try work.result(i), i * i)
            // Items i + 1 ..< i + 1 + window may have started, nothing beyond.
            let furthest = lock.withLock { started.max() ?? -1 }
            XCTAssertLessThan(furthest, i + 1 + 4, "item \(furthest) started while the reader was at \(i)")
        }
        XCTAssertEqual(lock.withLock { started.sorted() }, Array(0..<40))
    }

    func test_aFailingItem_throwsAtItsIndex_andStopReturns() {
        let work = OrderedWork<Int>(count: 20, workers: 2, window: 3) { i in
            if i == 4 { throw Failure(index: i) }
            return i
        }
        for i in 0..<4 { XCTAssertEqual(try work.result(i), i) }
        XCTAssertThrowsError(try work.result(4)) { XCTAssertEqual($0 as? Failure, Failure(index: 4)) }
        work.stop()
    }
}
