import HDF5Kit

/// TL-DeepSSM models in the checkpoint file of `deepssm-train`: the same HDF5
/// layout, with root attributes `variant` = "tl" and `particle_values` (P), and
/// `num_outputs` holding the latent size L. Entries are named as the model's
/// state dict (`CorrespondenceEncoder.fc-en1.weight`, `ImageEncoder.conv1.weight`, ...).
extension NetworkCheckpoint {
    public static let variantAttribute = "variant"
    public static let particleValuesAttribute = "particle_values"

    /// Captures `network`'s state now (weights, buffers, Adam state).
    public init(tl network: TLDeepSSMNetwork, attributes: [String: HDF5AttributeValue] = [:]) throws {
        inputShape = network.inputShape
        outputCount = network.latentSize
        learningRate = network.learningRate
        tensors = try network.stateDict()
        rngState = nil
        self.attributes = attributes
        self.attributes[Self.variantAttribute] = .string("tl")
        self.attributes[Self.particleValuesAttribute] = .int(Int64(network.particleValues))
    }

    /// `tl` for a TL-DeepSSM model, `base` for the DeepSSM network.
    public var variant: String {
        if case .string(let name)? = attributes[Self.variantAttribute] { return name }
        return "base"
    }

    public var isTL: Bool { variant == "tl" }

    /// P of a TL-DeepSSM model (nil for the DeepSSM network).
    public var particleValues: Int? {
        if case .int(let value)? = attributes[Self.particleValuesAttribute] { return Int(value) }
        return nil
    }

    /// Loads the state into `network`, which must have the same sizes.
    public func restore(into network: TLDeepSSMNetwork) throws {
        guard isTL, let p = particleValues else {
            throw TorchError(operation: "restore checkpoint", message:
                "the checkpoint holds a DeepSSM network (variant base), not a TL-DeepSSM model")
        }
        guard network.inputShape == inputShape, network.latentSize == outputCount, network.particleValues == p else {
            throw TorchError(operation: "restore checkpoint", message:
                "the checkpoint is for input \(inputShape), latent \(outputCount) and \(p) particle values but the model takes \(network.inputShape), \(network.latentSize) and \(network.particleValues); train again for this data")
        }
        try network.loadStateDict(tensors)
        try network.setLearningRate(learningRate)
    }

    /// A new TL-DeepSSM model on `device` holding this checkpoint's state.
    public func makeTLNetwork(device: TorchDevice = .cpu) throws -> TLDeepSSMNetwork {
        guard isTL, let p = particleValues else {
            throw TorchError(operation: "load a TL-DeepSSM model", message:
                "the checkpoint holds a DeepSSM network (variant base), not a TL-DeepSSM model")
        }
        let network = try TLDeepSSMNetwork(inputShape: inputShape, particleValues: p, latentSize: outputCount,
                                           seed: 0, device: device, learningRate: learningRate)
        try restore(into: network)
        return network
    }
}
