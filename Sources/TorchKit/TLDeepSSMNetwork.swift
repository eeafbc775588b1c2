import CTorchShim

/// TL-DeepSSM (ShapeWorks' `DeepSSMNet_TLNet`): an autoencoder on the
/// flattened correspondence particles (`CorrespondenceEncoder` P → 1024 → 512 → L,
/// `CorrespondenceDecoder` L → 512 → 1024 → P, PReLU between linear layers) and an
/// image encoder (the DeepSSM network with L outputs) trained to regress the
/// autoencoder's latent code. Prediction: image encoder → correspondence decoder.
/// One Adam optimizer over every parameter, on the CPU or a CUDA device.
///
/// Not thread-safe: one owner drives training and evaluation.
public final class TLDeepSSMNetwork {
    private let handle: OpaquePointer
    public let inputShape: InputShape
    /// P, the particle values per shape (3 × particles).
    public let particleValues: Int
    /// L, the latent code's size.
    public let latentSize: Int
    /// The device asked for (`auto` stays `auto`: pass `Torch.resolve`'s answer).
    public let device: TorchDevice

    /// The three training phases, in order.
    public enum Phase: String, Sendable, CaseIterable {
        /// The autoencoder alone, on particles.
        case autoencoder
        /// The T-flank: the image encoder regresses the fixed autoencoder's code.
        case tflank
        /// Particle loss + alpha × latent loss, every weight trained.
        case joint

        var cValue: ctorch_tl_phase {
            switch self {
            case .autoencoder: CTORCH_TL_AUTOENCODER
            case .tflank: CTORCH_TL_TFLANK
            case .joint: CTORCH_TL_JOINT
            }
        }
    }

    /// The objective of training steps.
    public enum Loss: Sendable, Equatable {
        case mse
        /// ShapeWorks' focal loss with (a, c) on particles and on latent codes.
        case focal(aAE: Double, cAE: Double, aLatent: Double, cLatent: Double)
    }

    /// The mean squared errors of one training batch (0 where the phase has none).
    public struct BatchErrors: Sendable, Equatable {
        public var particleMSE: Double
        public var latentMSE: Double
    }

    /// Builds the model with Xavier-normal weights from `seed` (the image
    /// encoder as `DeepSSMNetwork` of this seed and L outputs starts) and Adam.
    public init(inputShape: InputShape, particleValues: Int, latentSize: Int, seed: UInt64,
                device: TorchDevice = .cpu, learningRate: Double = 1e-4) throws {
        var created: OpaquePointer? = nil
        try torchCall("create the TL-DeepSSM model for \(inputShape), \(particleValues) particle values, latent \(latentSize)") {
            ctorch_tl_create(Int64(inputShape.depth), Int64(inputShape.height), Int64(inputShape.width),
                             Int64(particleValues), Int64(latentSize), seed, device.cValue, learningRate, &created, $0)
        }
        guard let created else {
            throw TorchError(operation: "create the TL-DeepSSM model", message: "the shim returned no model")
        }
        handle = created
        self.inputShape = inputShape
        self.particleValues = particleValues
        self.latentSize = latentSize
        self.device = device
    }

    deinit { ctorch_tl_free(handle) }

    public var parameterCount: Int { Int(ctorch_tl_parameter_count(handle)) }
    public var learningRate: Double { ctorch_tl_learning_rate(handle) }

    public func setLearningRate(_ rate: Double) throws {
        try torchCall("set the learning rate to \(rate)") { ctorch_tl_set_learning_rate(handle, rate, $0) }
    }

    public func setLoss(_ loss: Loss) throws {
        try torchCall("set the TL-DeepSSM loss") {
            switch loss {
            case .mse: ctorch_tl_set_loss(handle, CTORCH_LOSS_MSE, 0, 0, 0, 0, $0)
            case .focal(let aAE, let cAE, let aLatent, let cLatent):
                ctorch_tl_set_loss(handle, CTORCH_LOSS_FOCAL, aAE, cAE, aLatent, cLatent, $0)
            }
        }
    }

    /// One Adam step of `phase`: `particles` holds batch × P values, `images`
    /// batch volumes of `inputShape` (not needed, may be empty, for the
    /// autoencoder phase). A non-finite error is returned without changing the weights.
    public func trainBatch(_ phase: Phase, images: [Float], particles: [Float], alpha: Double = 1) throws -> BatchErrors {
        let batch = try batchSize(particles: particles.count, images: images.count,
                                  needsImages: phase != .autoencoder, "train a \(phase.rawValue) batch")
        var errors = BatchErrors(particleMSE: 0, latentMSE: 0)
        try images.withUnsafeBufferPointer { x in
            try particles.withUnsafeBufferPointer { y in
                try torchCall("train a \(phase.rawValue) batch of \(batch)") {
                    ctorch_tl_train_batch(handle, phase.cValue, images.isEmpty ? nil : x.baseAddress, y.baseAddress,
                                          Int64(batch), alpha, &errors.particleMSE, &errors.latentMSE, $0)
                }
            }
        }
        return errors
    }

    /// The autoencoder's latent codes (batch × L) and reconstructions (batch × P) of `particles`.
    public func autoencode(particles: [Float]) throws -> (latent: [Float], reconstructed: [Float]) {
        let batch = try batchSize(particles: particles.count, images: 0, needsImages: false, "autoencode particles")
        var latent = [Float](repeating: 0, count: batch * latentSize)
        var reconstructed = [Float](repeating: 0, count: batch * particleValues)
        try particles.withUnsafeBufferPointer { y in
            try latent.withUnsafeMutableBufferPointer { l in
                try reconstructed.withUnsafeMutableBufferPointer { r in
                    try torchCall("autoencode \(batch) shapes") {
                        ctorch_tl_evaluate(handle, nil, y.baseAddress, Int64(batch), l.baseAddress, r.baseAddress,
                                           nil, nil, $0)
                    }
                }
            }
        }
        return (latent, reconstructed)
    }

    /// The image encoder's latent codes (batch × L) and the particles they
    /// decode to (batch × P): the model's prediction.
    public func predict(images: [Float]) throws -> (latent: [Float], particles: [Float]) {
        guard inputShape.voxelCount > 0, !images.isEmpty, images.count % inputShape.voxelCount == 0 else {
            throw TorchError(operation: "predict with TL-DeepSSM", message:
                "\(images.count) image values are not a whole number of \(inputShape) volumes")
        }
        let batch = images.count / inputShape.voxelCount
        var latent = [Float](repeating: 0, count: batch * latentSize)
        var particles = [Float](repeating: 0, count: batch * particleValues)
        try images.withUnsafeBufferPointer { x in
            try latent.withUnsafeMutableBufferPointer { l in
                try particles.withUnsafeMutableBufferPointer { p in
                    try torchCall("predict a batch of \(batch) with TL-DeepSSM") {
                        ctorch_tl_evaluate(handle, x.baseAddress, nil, Int64(batch), nil, nil, l.baseAddress,
                                           p.baseAddress, $0)
                    }
                }
            }
        }
        return (latent, particles)
    }

    private func batchSize(particles: Int, images: Int, needsImages: Bool, _ operation: String) throws -> Int {
        guard particles > 0, particles % particleValues == 0 else {
            throw TorchError(operation: operation, message:
                "\(particles) particle values are not a whole number of shapes of \(particleValues) values")
        }
        let batch = particles / particleValues
        if needsImages, images != batch * inputShape.voxelCount {
            throw TorchError(operation: operation, message:
                "\(images) image values do not make \(batch) volumes of \(inputShape)")
        }
        return batch
    }

    // MARK: State by name

    /// Every parameter and buffer, then the optimizer state, by state-dict name.
    public func stateDict() throws -> [StateTensor] {
        try (0..<ctorch_tl_state_count(handle)).map { index in
            let (key, shape, dtype) = try entry(index)
            var values = StateTensor.Values.zeros(dtype, count: shape.reduce(1, *))
            let count = Int64(values.count)
            try values.withUnsafeMutableRawPointer { pointer in
                try torchCall("read state '\(key)'") { ctorch_tl_state_read(handle, key, dtype, pointer, count, $0) }
            }
            return StateTensor(name: key, shape: shape, values: values)
        }
    }

    /// Overwrites the named entries (an `optimizer/...` entry creates that
    /// parameter's Adam state); shapes must match this model's.
    public func loadStateDict(_ entries: [StateTensor]) throws {
        var shapes: [String: [Int]] = [:]
        for index in 0..<ctorch_tl_state_count(handle) {
            let (key, shape, _) = try entry(index)
            shapes[key] = shape
        }
        for tensor in entries {
            if let expected = shapes[tensor.name], expected != tensor.shape {
                throw TorchError(operation: "load state '\(tensor.name)'", message:
                    "shape \(tensor.shape) does not match the model's \(expected); the weights come from a model of another size")
            }
            try tensor.values.withUnsafeRawPointer { pointer in
                try torchCall("load state '\(tensor.name)'") {
                    ctorch_tl_state_write(handle, tensor.name, tensor.values.dtype, pointer, Int64(tensor.values.count), $0)
                }
            }
        }
    }

    private func entry(_ index: Int64) throws -> (String, [Int], ctorch_dtype) {
        var name: UnsafeMutablePointer<CChar>? = nil
        var dtype = CTORCH_FLOAT32
        var rank: Int32 = 0
        var extents = [Int64](repeating: 0, count: Int(CTORCH_MAX_RANK))
        try torchCall("list state entry \(index)") {
            ctorch_tl_state_entry(handle, index, &name, &dtype, &rank, &extents, $0)
        }
        let key = name.map { String(cString: $0) } ?? ""
        ctorch_free_string(name)
        return (key, extents.prefix(Int(rank)).map { Int($0) }, dtype)
    }
}
