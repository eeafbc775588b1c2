import Foundation
import HDF5Kit
import Workflow

/// Reads one split of the loaders artifact (`train.h5`, `val.h5`, `test.h5`)
/// batch by batch: a seeded shuffled order per epoch, every sample exactly once
/// per epoch, and a background thread that prefetches the next batches. Only
/// the batches in flight are in memory, never the whole split.
public final class BatchReader: Sendable {
    /// One batch, laid out for the network.
    public struct Batch: Sendable {
        /// Positions of the samples in the split file.
        public var indices: [Int]
        public var ids: [String]
        /// `[b, 1, nz, ny, nx]`, contiguous.
        public var images: [Float]
        /// `[b, K]` whitened targets, contiguous; empty when the split has none.
        public var targets: [Float]
        /// The number of samples, b (the last batch of an epoch may be short).
        public var count: Int { indices.count }
    }

    public let url: URL
    public let batchSize: Int
    /// Whether each epoch visits the samples in a seeded random order (else in file order).
    public let shuffle: Bool
    public let seed: UInt64
    /// Sample ids, in file order.
    public let ids: [String]
    /// One image, slowest axis first: `[nz, ny, nx]`.
    public let imageShape: [Int]
    /// K, or 0 when the split holds no targets.
    public let numModes: Int
    private let stack: SampleStack
    private let prefetch: Int

    /// Opens a split. `prefetch` batches are read ahead on a background thread.
    public init(url: URL, batchSize: Int, shuffle: Bool, seed: UInt64 = 0, prefetch: Int = 2) throws {
        guard batchSize >= 1 else { throw StageFailure("batch size \(batchSize) must be at least 1") }
        self.url = url
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.prefetch = max(prefetch, 1)
        do {
            stack = try SampleStack(contentsOf: url)
            ids = stack.ids
            imageShape = try stack.sampleShape("images")
            numModes = try stack.file.contains("targets") ? stack.sampleShape("targets").first ?? 0 : 0
        } catch let error as HDF5Error {
            throw StageFailure("cannot open loader split \(url.lastPathComponent): \(error); rerun the 'deepssm-loaders' stage")
        }
        guard imageShape.count == 3 else {
            throw StageFailure("loader split \(url.path) stores images of shape \(imageShape), not [nz, ny, nx]; rerun the 'deepssm-loaders' stage")
        }
    }

    /// Number of samples in the split.
    public var count: Int { ids.count }
    /// Voxels per image.
    public var imageCount: Int { imageShape.reduce(1, *) }
    /// Batches per epoch; the last may be short.
    public var batchesPerEpoch: Int { (count + batchSize - 1) / batchSize }

    /// The order in which epoch `epoch` visits the samples: a permutation of `0..<count`.
    public func order(epoch: Int) -> [Int] {
        shuffle ? SeededOrder.permutation(count: count, seed: SeededOrder.epochSeed(seed, epoch: epoch))
                : Array(0..<count)
    }

    /// The batches of epoch `epoch`, from batch `start` on (to resume an
    /// interrupted epoch), prefetched in the background; without `images`,
    /// only their indices, ids and targets (for a split resident on the device).
    public func batches(epoch: Int, startingAt start: Int = 0, images: Bool = true) -> Epoch {
        let order = order(epoch: epoch)
        let groups = stride(from: start * batchSize, to: order.count, by: batchSize).map {
            Array(order[$0..<min($0 + batchSize, order.count)])
        }
        return Epoch(groups: groups, depth: prefetch) { [self] indices in try read(indices, images: images) }
    }

    /// Reads the samples at `indices` (file positions) into one batch
    /// (its `images` left empty without `images`).
    public func read(_ indices: [Int], images readImages: Bool = true) throws -> Batch {
        let voxels = readImages ? imageCount : 0, k = numModes
        var images = [Float](repeating: 0, count: indices.count * voxels)
        var targets = [Float](repeating: 0, count: indices.count * k)
        do {
            try images.withUnsafeMutableBufferPointer { buffer in
                for (slot, index) in indices.enumerated() where voxels > 0 {
                    let part = UnsafeMutableBufferPointer(rebasing: buffer[(slot * voxels)..<((slot + 1) * voxels)])
                    try stack.sample("images", index, into: part)
                }
            }
            if k > 0 {
                try targets.withUnsafeMutableBufferPointer { buffer in
                    for (slot, index) in indices.enumerated() {
                        let part = UnsafeMutableBufferPointer(rebasing: buffer[(slot * k)..<((slot + 1) * k)])
                        try stack.sample("targets", index, into: part)
                    }
                }
            }
        } catch let error as HDF5Error {
            throw StageFailure("cannot read a batch from loader split \(url.lastPathComponent): \(error); rerun the 'deepssm-loaders' stage")
        }
        return Batch(indices: indices, ids: indices.map { ids[$0] }, images: images, targets: targets)
    }

    /// One epoch's batches, read ahead by a background thread into a bounded queue.
    /// Iterate with `next()`; dropping it early stops the reader thread.
    public final class Epoch: Sendable {
        private let state: PrefetchQueue

        init(groups: [[Int]], depth: Int, read: @escaping @Sendable ([Int]) throws -> Batch) {
            state = PrefetchQueue(total: groups.count, depth: depth)
            // The thread holds the queue, not the epoch, so dropping the epoch stops it.
            let thread = Thread { [state] in state.produce(groups, read) }
            thread.name = "ssmflow.batch-prefetch"
            thread.start()
        }

        deinit { state.stop() }

        /// Number of batches this epoch yields.
        public var count: Int { state.total }

        /// The next batch, or nil after the last. Rethrows a read failure.
        public func next() throws -> Batch? { try state.next() }

        /// Stops the background reader; later `next()` calls return nil.
        public func stop() { state.stop() }
    }
}

/// The bounded queue between the prefetch thread and the consumer.
private final class PrefetchQueue: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `condition`.
    let total: Int
    private let depth: Int
    private let condition = NSCondition()
    private var queue: [BatchReader.Batch] = []
    private var failure: Error?
    private var consumed = 0
    private var stopped = false

    init(total: Int, depth: Int) {
        self.total = total
        self.depth = depth
    }

    func next() throws -> BatchReader.Batch? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && failure == nil && consumed < total && !stopped { condition.wait() }
        if !queue.isEmpty {
            consumed += 1
            condition.broadcast()
            return queue.removeFirst()
        }
        if let failure, !stopped { throw failure }
        return nil
    }

    func stop() {
        condition.lock()
        stopped = true
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    func produce(_ groups: [[Int]], _ read: ([Int]) throws -> BatchReader.Batch) {
        for group in groups {
            condition.lock()
            while queue.count >= depth && !stopped { condition.wait() }
            let halt = stopped
            condition.unlock()
            if halt { return }
            let result = Result { try read(group) }
            condition.lock()
            defer {
                condition.broadcast()
                condition.unlock()
            }
            switch result {
            case .success(let batch):
                if !stopped { queue.append(batch) }
            case .failure(let error):
                failure = error
                return
            }
        }
    }
}
