import Foundation
import ShapeModel
import GeometryKit
import HDF5Kit
import Workflow

/// Builds the loaders artifact: downsampled, intensity-normalised images and
/// whitened PCA targets, split 80/20 into `train.h5` / `val.h5`, plus `test.h5`
/// and `normalization.json`. Images stream through one at a time (per thread);
/// statistics are accumulated in double precision.
struct DeepSSMLoaderBuilder {
    var downFactor = 0.75
    /// Exact dims after downsampling; overrides `downFactor` when set.
    var targetDims: SIMD3<Int>? = nil
    var trainFraction = 0.8
    /// How images shrink to `downDims` (recorded in normalization.json).
    var filter = ResampleFilter.linear
    var seed: UInt64 = 0
    var batchSize = 8
    var threads = 1
    var progress: @Sendable (Int, Int, String) -> Void = { _, _, _ in }
    var checkCancellation: @Sendable () throws -> Void = {}

    /// The split of pool positions: train and validation, each in ascending order.
    func split(poolCount: Int) throws -> (train: [Int], val: [Int]) {
        let trainCount = Int((Double(poolCount) * trainFraction).rounded())
        guard poolCount >= 2, trainCount >= 1, trainCount < poolCount else {
            throw StageFailure("a pool of \(poolCount) samples with train_fraction \(trainFraction) leaves \(trainCount) for training and \(poolCount - trainCount) for validation; both need at least one: augment more samples or change train_fraction")
        }
        let order = SeededOrder.permutation(count: poolCount, seed: seed)
        return (order[..<trainCount].sorted(), order[trainCount...].sorted())
    }

    /// With `validation` subjects (real images with true scores), the whole pool
    /// trains and they make `val.h5`; otherwise `trainFraction` splits the pool.
    func build(pool: some LoaderSampleSource, numModes: Int, test: (some LoaderSampleSource)?,
               validation: HeldOutSubjects? = nil, into directory: URL, scratch: URL) throws -> LoaderNormalization {
        let poolCount = pool.count
        let realValidation = validation.flatMap { $0.count > 0 ? $0 : nil }
        let (trainSet, valSet) = realValidation == nil ? try split(poolCount: poolCount) : (Array(0..<poolCount), [])
        let first = try pool.image(0)
        let grid = SampleStack.Geometry(first)
        let downDims = targetDims ?? ImageVolume.scaledDims(first.dims, by: downFactor)
        let downGrid = SampleStack.Geometry(first.resampled(dims: downDims))  // the grid alone: the same for every filter
        let ids = try (0..<poolCount).map { try pool.id($0) }

        // Pass 1: downsample every pool image into a scratch stack, with per-image statistics.
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let scratchURL = scratch.appendingPathComponent("downsampled-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: scratchURL) }
        let downsampled = try SampleStackWriter(creating: scratchURL, ids: ids, geometry: downGrid)
        try downsampled.addArray("images", type: .float32, sampleShape: downGrid.imageShape)
        let imageStatistics = try forEachSample(poolCount, "downsampling the pool") { index -> RunningStatistics in
            let image = index == 0 ? first : try pool.image(index)
            guard grid.matches(image) else {
                throw StageFailure("pool sample \(ids[index]) has grid \(SampleStack.Geometry(image)) but the pool's first sample has \(grid); every pool image must share one grid: rerun 'augment'")
            }
            let small = image.resampled(dims: downDims, filter: filter)
            try downsampled.put("images", sample: index, image: small)
            return small.voxels.withUnsafeBufferPointer { RunningStatistics($0) }
        }
        try downsampled.finish()

        // Merged in index order, so the result does not depend on thread timing.
        var intensity = RunningStatistics()
        for statistics in imageStatistics { intensity.merge(statistics) }
        var scoreStatistics = [RunningStatistics](repeating: RunningStatistics(), count: numModes)
        var poolScores: [[Double]] = []
        for index in 0..<poolCount {
            guard let scores = try pool.truthScores(index), scores.count == numModes, scores.allSatisfy(\.isFinite) else {
                throw StageFailure("pool sample \(ids[index]) has no \(numModes) finite PCA scores; rerun 'augment'")
            }
            for k in 0..<numModes { scoreStatistics[k].add(scores[k]) }
            poolScores.append(scores)
        }
        guard intensity.populationStd > 0, intensity.populationStd.isFinite else {
            throw StageFailure("the downsampled pool images have intensity std \(intensity.populationStd); images that are constant cannot be normalised: check the pool")
        }
        if let flat = scoreStatistics.firstIndex(where: { !($0.populationStd > 0) }) {
            throw StageFailure("PCA mode \(flat + 1) has zero variance over the pool, so its scores cannot be whitened; lower num_modes in 'augment'")
        }

        let normalization = LoaderNormalization(
            intensityMean: intensity.mean, intensityStd: intensity.populationStd,
            scoreMean: scoreStatistics.map(\.mean), scoreStd: scoreStatistics.map(\.populationStd),
            downFactor: downFactor, batchSize: batchSize, dims: downGrid.dims, spacing: downGrid.spacing, origin: downGrid.origin,
            trainCount: trainSet.count, valCount: realValidation?.count ?? valSet.count, testCount: test?.count ?? 0,
            downsample: filter == .linear ? nil : filter)

        // Pass 2: normalise into the train and validation stacks.
        let source = try SampleStack(contentsOf: scratchURL)
        var written = 0
        let poolSplits: [(LoaderArtifact.Split, [Int])] = realValidation == nil
            ? [(.train, trainSet), (.validation, valSet)] : [(.train, trainSet)]
        for (name, members) in poolSplits {
            let writer = try makeWriter(directory, name, ids: members.map { ids[$0] }, grid: downGrid,
                                        numModes: numModes, withTargets: true)
            for (slot, index) in members.enumerated() {
                try checkCancellation()
                var voxels = try source.sample("images", index, as: Float.self)
                normalization.normalizeIntensities(&voxels)
                try writer.put("images", sample: slot, voxels)
                try writer.put("targets", sample: slot, normalization.whiten(poolScores[index]))
                written += 1
                progress(written, poolCount, "normalising")
            }
            try writer.finish()
        }

        if let realValidation {
            try writeSubjects(realValidation, as: .validation, grid: grid, downGrid: downGrid, numModes: numModes,
                              normalization: normalization, into: directory)
        }
        if let test {
            try writeSubjects(test, as: .test, grid: grid, downGrid: downGrid, numModes: numModes,
                              normalization: normalization, into: directory)
        } else {
            _ = try makeWriter(directory, .test, ids: [], grid: downGrid, numModes: numModes, withTargets: false).finish()
        }
        try normalization.write(to: LoaderArtifact.normalizationURL(in: directory))
        return normalization
    }

    /// Held-out subjects (test, or validation on real images), normalised with
    /// the training statistics; targets are their whitened true scores where
    /// known (NaN where not; validation needs every one).
    private func writeSubjects(_ test: some LoaderSampleSource, as split: LoaderArtifact.Split,
                               grid: SampleStack.Geometry, downGrid: SampleStack.Geometry,
                               numModes: Int, normalization: LoaderNormalization, into directory: URL) throws {
        let ids = try (0..<test.count).map { try test.id($0) }
        let truth = try (0..<test.count).map { try test.truthScores($0) }
        let withTargets = truth.contains { $0 != nil }
        if split == .validation, let missing = truth.firstIndex(where: { $0 == nil }) {
            throw StageFailure("validation subject \(ids[missing]) has no true PCA scores; connect 'pca' (augment.pca) to deepssm-loaders so that real validation subjects get their targets")
        }
        let role = split == .test ? "test" : "validation"
        let writer = try makeWriter(directory, split, ids: ids, grid: downGrid, numModes: numModes, withTargets: withTargets)
        for index in 0..<test.count {
            try checkCancellation()
            let image = try test.image(index)
            guard grid.matches(image) else {
                throw StageFailure("\(role) subject \(ids[index]) has grid \(SampleStack.Geometry(image)) but the pool has \(grid); the held-out images must be groomed like the training images")
            }
            var voxels = image.resampled(dims: SIMD3(downGrid.dims[0], downGrid.dims[1], downGrid.dims[2]), filter: filter).voxels
            normalization.normalizeIntensities(&voxels)
            try writer.put("images", sample: index, voxels)
            if withTargets {
                let targets: [Float]
                if let scores = truth[index] {
                    guard scores.count == numModes else {
                        throw StageFailure("\(role) subject \(ids[index]) has \(scores.count) true PCA scores where the pool has \(numModes); connect the same 'pca' model that made the pool")
                    }
                    targets = normalization.whiten(scores)
                } else {
                    targets = [Float](repeating: .nan, count: numModes)
                }
                try writer.put("targets", sample: index, targets)
            }
        }
        try writer.finish()
    }

    private func makeWriter(_ directory: URL, _ split: LoaderArtifact.Split, ids: [String], grid: SampleStack.Geometry,
                            numModes: Int, withTargets: Bool) throws -> SampleStackWriter {
        let writer = try SampleStackWriter(creating: LoaderArtifact(directory).url(split), ids: ids, geometry: grid)
        try writer.addArray("images", type: .float32, sampleShape: grid.imageShape)
        if withTargets { try writer.addArray("targets", type: .float32, sampleShape: [numModes]) }
        try writer.setAttribute("split", .string(split.rawValue))
        try writer.setAttribute("down_factor", .double(downFactor))
        return writer
    }

    /// Runs `body` for every index on `threads` threads; results in index order.
    /// The first failure (by index) is rethrown.
    private func forEachSample<T: Sendable>(_ count: Int, _ message: String,
                                            _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let results = ResultSlots<T>(count: count)
        let workers = max(1, min(threads, count))
        let progress = self.progress, checkCancellation = self.checkCancellation
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: count, by: workers) {
                if results.hasFailure { return }
                let result = Result { () throws -> T in
                    try checkCancellation()
                    return try body(index)
                }
                // Reported under the slots' lock, so the counts arrive in order.
                results.set(index, result) { done in progress(done, count, message) }
            }
        }
        return try results.values()
    }
}

/// Results of a parallel loop, one slot per index.
private final class ResultSlots<T>: @unchecked Sendable {
    // @unchecked: every field is guarded by `lock`.
    private let lock = NSLock()
    private var slots: [Result<T, Error>?]
    private var done = 0
    private var failed = false

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    var hasFailure: Bool { lock.withLock { failed } }

    func set(_ index: Int, _ result: Result<T, Error>, then report: (Int) -> Void) {
        lock.withLock {
            slots[index] = result
            done += 1
            if case .failure = result { failed = true }
            report(done)
        }
    }

    func values() throws -> [T] {
        try lock.withLock {
            // Some slots are empty when a worker stopped early; report the first failure.
            if failed, let failure = slots.lazy.compactMap({ $0 }).first(where: { if case .failure = $0 { return true }; return false }) {
                _ = try failure.get()
            }
            return try slots.map { try $0!.get() }
        }
    }
}
