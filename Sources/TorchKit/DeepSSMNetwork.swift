import CTorchShim

/// The extent of a network input volume, 1 × depth × height × width (depth = z,
/// width = x, matching `ImageVolume.voxels` with x fastest).
public struct InputShape: Hashable, Sendable, Codable, CustomStringConvertible {
    public var depth: Int
    public var height: Int
    public var width: Int

    public init(depth: Int, height: Int, width: Int) {
        self.depth = depth
        self.height = height
        self.width = width
    }

    public var voxelCount: Int { depth * height * width }
    public var description: String { "1x\(depth)x\(height)x\(width)" }
}

/// The DeepSSM network of the use case (five 5³ convolutions with batch norm,
/// PReLU and three max-pools, then three linear layers to K scores) with its
/// Adam optimizer, on the CPU or a CUDA device.
///
/// Not thread-safe: one owner drives training and evaluation.
public final class DeepSSMNetwork {
    let handle: OpaquePointer
    public let inputShape: InputShape
    public let outputCount: Int

    /// Smallest extent of every input axis (the network downsamples ~8× and
    /// shaves 4 voxels per convolution).
    public static var minimumInputSize: Int { Int(ctorch_deepssm_minimum_input_size()) }

    /// F, the length of the flattened features before `fc1`; throws, naming the
    /// minimum size, when an axis is too small.
    public static func flattenedSize(for shape: InputShape) throws -> Int {
        var size: Int64 = 0
        try torchCall("size the deepssm network") {
            ctorch_deepssm_flattened_size(Int64(shape.depth), Int64(shape.height), Int64(shape.width), &size, $0)
        }
        return Int(size)
    }

    /// Builds the network with Xavier-normal weights drawn from `seed` (the
    /// global generators are left untouched) and an Adam optimizer.
    public init(inputShape: InputShape, outputCount: Int, seed: UInt64,
                device: TorchDevice = .cpu, learningRate: Double = 1e-4) throws {
        var created: OpaquePointer? = nil
        try torchCall("create the deepssm network for \(inputShape) and \(outputCount) scores") {
            ctorch_model_create(Int64(inputShape.depth), Int64(inputShape.height), Int64(inputShape.width),
                                Int64(outputCount), seed, device.cValue, learningRate, &created, $0)
        }
        guard let created else {
            throw TorchError(operation: "create the deepssm network", message: "the shim returned no model")
        }
        self.handle = created
        self.inputShape = inputShape
        self.outputCount = outputCount
    }

    deinit { ctorch_model_free(handle) }

    /// The device the weights live on (`cpu` or `cuda`).
    public var device: TorchDevice { TorchDevice(ctorch_model_device(handle)) }
    public var parameterCount: Int { Int(ctorch_model_parameter_count(handle)) }
    public var flattenedSize: Int { Int(ctorch_model_flattened_size(handle)) }

    public var learningRate: Double { ctorch_model_learning_rate(handle) }

    /// The arithmetic of later batches; throws, saying why, where the device cannot do it.
    public func setPrecision(_ precision: TorchPrecision) throws {
        try torchCall("use precision '\(precision.rawValue)' on \(device.rawValue)") {
            ctorch_model_set_precision(handle, precision.cValue, $0)
        }
    }

    public func setLearningRate(_ rate: Double) throws {
        try torchCall("set the learning rate to \(rate)") { ctorch_model_set_learning_rate(handle, rate, $0) }
    }

    /// What `trainBatch` optimises: the MSE, or ShapeWorks' focal loss
    /// mean(l² / (1 + exp(a (c − l)))), l = |prediction − target|.
    public enum Loss: Sendable, Equatable {
        case mse
        case focal(a: Double, c: Double)
    }

    /// Sets the objective of later `trainBatch` calls (the loss they return stays the MSE).
    public func setLoss(_ loss: Loss) throws {
        try torchCall("set the loss") {
            switch loss {
            case .mse: ctorch_model_set_loss(handle, CTORCH_LOSS_MSE, 0, 0, $0)
            case .focal(let a, let c): ctorch_model_set_loss(handle, CTORCH_LOSS_FOCAL, a, c, $0)
            }
        }
    }

    /// Weights of the outputs in the objective of later `trainBatch` calls:
    /// the loss averages `weights[k]` times output k's term; one weight per
    /// output, or none for equal weights (the default). The returned loss stays
    /// the unweighted MSE.
    public func setLossWeights(_ weights: [Float]) throws {
        try weights.withUnsafeBufferPointer { w in
            try torchCall("set the loss weights") {
                ctorch_model_set_loss_weights(handle, w.baseAddress, Int64(w.count), $0)
            }
        }
    }

    /// One Adam step on the mean squared error of a batch; returns the loss.
    /// `images` holds `batch` volumes of `shape` (x fastest), `targets` holds
    /// `batch × outputCount` scores. A non-finite loss is returned without
    /// changing the weights.
    public func trainBatch(images: [Float], shape: InputShape, targets: [Float]) throws -> Double {
        let batch = try batchSize(images: images.count, shape: shape, targets: targets.count, "train a batch")
        return try step("train a batch of \(batch)", images: images, targets: targets) {
            ctorch_model_train_batch(handle, $0, Int64(batch), Int64(shape.depth), Int64(shape.height),
                                     Int64(shape.width), $1, Int64(outputCount), $2, $3)
        }
    }

    /// Runs one training call on the buffers of `images` and `targets`; returns its loss.
    private func step(_ operation: String, images: [Float], targets: [Float],
                      _ call: (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Double>,
                               UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> ctorch_status) throws -> Double {
        var loss = 0.0
        try images.withUnsafeBufferPointer { x in
            try targets.withUnsafeBufferPointer { y in
                try torchCall(operation) { call(x.baseAddress, y.baseAddress, &loss, $0) }
            }
        }
        return loss
    }

    /// Predicted scores, `batch × outputCount`, in evaluation mode without gradients.
    public func evaluateBatch(images: [Float], shape: InputShape) throws -> [Float] {
        let batch = try Self.volumeCount(images.count, shape: shape, "evaluate a batch")
        var predictions = [Float](repeating: 0, count: batch * outputCount)
        try images.withUnsafeBufferPointer { x in
            try predictions.withUnsafeMutableBufferPointer { out in
                try torchCall("evaluate a batch of \(batch)") {
                    ctorch_model_evaluate_batch(handle, x.baseAddress, Int64(batch), Int64(shape.depth),
                                                Int64(shape.height), Int64(shape.width), out.baseAddress,
                                                Int64(outputCount), $0)
                }
            }
        }
        return predictions
    }

    /// Precise batch-norm statistics: folds the batch-norm statistics of
    /// `images` (a forward pass in training mode, no gradients) into the
    /// running means and variances as an equal-weight average over the calls
    /// since the last `reset`. Weights and optimizer state are untouched.
    public func accumulateBatchNormStatistics(images: [Float], shape: InputShape, reset: Bool) throws {
        let batch = try Self.volumeCount(images.count, shape: shape, "recompute batch-norm statistics")
        try images.withUnsafeBufferPointer { x in
            try torchCall("recompute batch-norm statistics on a batch of \(batch)") {
                ctorch_model_batchnorm_statistics(handle, x.baseAddress, Int64(batch), Int64(shape.depth),
                                                  Int64(shape.height), Int64(shape.width), reset ? 1 : 0, $0)
            }
        }
    }

    /// How many whole volumes of `shape` `count` image values hold (at least one).
    private static func volumeCount(_ count: Int, shape: InputShape, _ operation: String) throws -> Int {
        guard shape.voxelCount > 0, count % shape.voxelCount == 0, count > 0 else {
            throw TorchError(operation: operation, message: "\(count) image values are not a whole number of \(shape) volumes")
        }
        return count / shape.voxelCount
    }

    // MARK: Fixed PCA decoder and fine-tuning on particles

    /// P, the number of particle values the fixed decoder gives (3 × particles),
    /// or 0 when no decoder is installed.
    public var decoderSize: Int { Int(ctorch_model_decoder_size(handle)) }

    /// Installs the fixed linear decoder `particles = outputs · weightᵀ + bias`
    /// (`weight` is P × outputCount row-major, `bias` P values). It is never
    /// trained and not part of `stateDict()`: the caller derives it again from
    /// the PCA model when it rebuilds the network.
    public func setDecoder(weight: [Float], bias: [Float]) throws {
        guard !bias.isEmpty, weight.count == bias.count * outputCount else {
            throw TorchError(operation: "set the PCA decoder", message:
                "\(weight.count) weights do not make a \(bias.count) × \(outputCount) matrix")
        }
        try weight.withUnsafeBufferPointer { w in
            try bias.withUnsafeBufferPointer { b in
                try torchCall("set the PCA decoder (\(bias.count) values)") {
                    ctorch_model_set_decoder(handle, w.baseAddress, b.baseAddress, Int64(bias.count), $0)
                }
            }
        }
    }

    /// Replaces the optimizer by a fresh Adam over every parameter (the start
    /// of fine-tuning); its state is saved and restored like the first one's.
    public func resetOptimizer(learningRate: Double) throws {
        try torchCall("start a new optimizer") { ctorch_model_reset_optimizer(handle, learningRate, $0) }
    }

    /// One Adam step of fine-tuning: the mean squared error between the decoded
    /// outputs and `particles` (batch × decoderSize values), back-propagated
    /// through the fixed decoder into the network. Returns the loss (mm² per
    /// coordinate for particles in mm); a non-finite loss leaves the weights.
    public func trainParticlesBatch(images: [Float], shape: InputShape, particles: [Float]) throws -> Double {
        let p = decoderSize
        guard p > 0 else {
            throw TorchError(operation: "fine-tune a batch", message: "no PCA decoder is installed; call setDecoder first")
        }
        let batch = try batchSize(images: images.count, shape: shape, targets: particles.count, perSample: p,
                                  "fine-tune a batch")
        return try step("fine-tune a batch of \(batch)", images: images, targets: particles) {
            ctorch_model_train_particles_batch(handle, $0, Int64(batch), Int64(shape.depth), Int64(shape.height),
                                               Int64(shape.width), $1, Int64(p), $2, $3)
        }
    }

    /// The batch size of `images` values of `shape`, after checking that
    /// `targets` holds `perSample` values per sample (default: one score per output).
    private func batchSize(images: Int, shape: InputShape, targets: Int, perSample: Int? = nil,
                           _ operation: String) throws -> Int {
        let (perSample, unit) = perSample.map { ($0, "particle values each") } ?? (outputCount, "scores")
        guard shape.voxelCount > 0, images > 0, images % shape.voxelCount == 0 else {
            throw TorchError(operation: operation, message:
                "\(images) image values are not a whole number of \(shape) volumes")
        }
        let batch = images / shape.voxelCount
        guard targets == batch * perSample else {
            throw TorchError(operation: operation, message:
                "\(targets) target values do not match \(batch) samples of \(perSample) \(unit)")
        }
        return batch
    }

    /// Every parameter and buffer, then the optimizer state, by state-dict name.
    public func stateDict() throws -> [StateTensor] {
        var entries: [StateTensor] = []
        for (key, shape, dtype) in try stateLayout() {
            var values = StateTensor.Values.zeros(dtype, count: shape.reduce(1, *))
            let elementCount = Int64(values.count)
            try values.withUnsafeMutableRawPointer { pointer in
                try torchCall("read state '\(key)'") {
                    ctorch_model_state_read(handle, key, dtype, pointer, elementCount, $0)
                }
            }
            entries.append(StateTensor(name: key, shape: shape, values: values))
        }
        return entries
    }

    /// Overwrites the named entries; every name must exist in this network (an
    /// `optimizer/...` entry creates that parameter's Adam state).
    public func loadStateDict(_ entries: [StateTensor]) throws {
        let shapes = Dictionary(try stateShapes(), uniquingKeysWith: { first, _ in first })
        for entry in entries {
            if let expected = shapes[entry.name], expected != entry.shape {
                throw TorchError(operation: "load state '\(entry.name)'", message:
                    "shape \(entry.shape) does not match the network's \(expected); the weights come from a network of another size")
            }
            try entry.values.withUnsafeRawPointer { pointer in
                try torchCall("load state '\(entry.name)'") {
                    ctorch_model_state_write(handle, entry.name, entry.values.dtype, pointer,
                                             Int64(entry.values.count), $0)
                }
            }
        }
    }

    private func stateShapes() throws -> [(String, [Int])] {
        try stateLayout().map { ($0.name, $0.shape) }
    }

    /// Name, shape and element type of every state entry, in state-dict order.
    private func stateLayout() throws -> [(name: String, shape: [Int], dtype: ctorch_dtype)] {
        let count = ctorch_model_state_count(handle)
        var layout: [(name: String, shape: [Int], dtype: ctorch_dtype)] = []
        for index in 0..<count {
            var name: UnsafeMutablePointer<CChar>? = nil
            var dtype = CTORCH_FLOAT32
            var rank: Int32 = 0
            var extents = [Int64](repeating: 0, count: Int(CTORCH_MAX_RANK))
            try torchCall("list state entry \(index)") {
                ctorch_model_state_entry(handle, index, &name, &dtype, &rank, &extents, $0)
            }
            let key = name.map { String(cString: $0) } ?? ""
            ctorch_free_string(name)
            layout.append((key, extents.prefix(Int(rank)).map { Int($0) }, dtype))
        }
        return layout
    }
}
