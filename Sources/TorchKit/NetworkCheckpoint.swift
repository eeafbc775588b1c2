import Foundation
import HDF5Kit

/// The complete training state of a `DeepSSMNetwork` (weights, batch-norm
/// buffers, Adam moments and step counts, optionally the CPU generator state
/// and caller attributes such as the epoch), stored as an HDF5 file.
///
/// Layout: one root dataset per PyTorch `state_dict` entry (`conv1.weight`,
/// `bn1.num_batches_tracked`, ...), so h5py users can load the weights into the
/// equivalent PyTorch module (`bench/torch/deepssm.py`); Adam state under
/// `optimizer/<name>/{step,exp_avg,exp_avg_sq}`; the generator under `rng/cpu`;
/// root attributes `format`, `input_shape` (D, H, W), `num_outputs`,
/// `learning_rate`, `libtorch`, plus the caller's. Files are byte-deterministic.
public struct NetworkCheckpoint: Equatable, Sendable {
    public static let format = "ssmflow-deepssm-1"
    static let reserved: Set<String> = ["format", "input_shape", "num_outputs", "learning_rate", "libtorch"]
    static let rngPath = "rng/cpu"

    public var inputShape: InputShape
    public var outputCount: Int
    public var learningRate: Double
    /// State-dict entries, then optimizer state, as `DeepSSMNetwork.stateDict()` lists them.
    public var tensors: [StateTensor]
    /// The CPU generator state to restore with the weights, when saved.
    public var rngState: [UInt8]?
    /// The caller's own root attributes (e.g. `epoch`, `order_position`).
    public var attributes: [String: HDF5AttributeValue]

    /// Captures `network`'s state now.
    public init(network: DeepSSMNetwork, rngState: [UInt8]? = nil,
                attributes: [String: HDF5AttributeValue] = [:]) throws {
        inputShape = network.inputShape
        outputCount = network.outputCount
        learningRate = network.learningRate
        tensors = try network.stateDict()
        self.rngState = rngState
        self.attributes = attributes
    }

    /// Reads a checkpoint file; errors name the file and the dataset.
    public init(contentsOf url: URL) throws {
        let file = try HDF5File(contentsOf: url)
        defer { file.close() }
        let format = (try? file.stringAttribute("format")) ?? "none"
        guard format == Self.format else {
            throw TorchError(operation: "read checkpoint \(url.path)", message:
                "format is '\(format)', not '\(Self.format)'; the file was not written by deepssm-train")
        }
        let dims = try file.intsAttribute("input_shape")
        guard dims.count == 3 else {
            throw TorchError(operation: "read checkpoint \(url.path)", message: "input_shape has \(dims.count) values, not 3")
        }
        inputShape = InputShape(depth: dims[0], height: dims[1], width: dims[2])
        outputCount = try file.intsAttribute("num_outputs").first ?? 0
        learningRate = try file.doublesAttribute("learning_rate").first ?? 0
        var attributes: [String: HDF5AttributeValue] = [:]
        for name in try file.attributeNames() where !Self.reserved.contains(name) {
            attributes[name] = try file.attribute(name)
        }
        self.attributes = attributes
        rngState = nil
        tensors = []
        for path in try file.datasetPaths() {
            let dataset = try file.dataset(path)
            if path == Self.rngPath {
                rngState = try dataset.read(as: UInt8.self)
                continue
            }
            let values: StateTensor.Values
            switch dataset.type {
            case .float32: values = .float32(try dataset.read())
            case .float64: values = .float64(try dataset.read())
            case .int64: values = .int64(try dataset.read())
            case .uint8: values = .uint8(try dataset.read())
            default:
                throw HDF5Error(.wrongType, file: url, object: path,
                                "stored as \(dataset.type); checkpoints hold float32, float64, int64 or uint8")
            }
            tensors.append(StateTensor(name: path, shape: dataset.shape, values: values))
        }
    }

    /// The weights and buffers alone (no Adam state, no generator state): what
    /// a trained model needs for prediction or for loading into PyTorch.
    public func weightsOnly() -> NetworkCheckpoint {
        var copy = self
        copy.tensors = tensors.filter { !$0.name.hasPrefix("optimizer/") }
        copy.rngState = nil
        return copy
    }

    /// Writes the checkpoint (replacing any file at `url`).
    public func write(to url: URL) throws {
        if let clash = attributes.keys.first(where: { Self.reserved.contains($0) }) {
            throw TorchError(operation: "write checkpoint \(url.path)", message:
                "attribute '\(clash)' is reserved for the checkpoint's own metadata; choose another name")
        }
        let file = try HDF5File(creating: url)
        defer { file.close() }
        try file.setAttribute("format", .string(Self.format))
        try file.setAttribute("input_shape", .ints([inputShape.depth, inputShape.height, inputShape.width].map(Int64.init)))
        try file.setAttribute("num_outputs", .int(Int64(outputCount)))
        try file.setAttribute("learning_rate", .double(learningRate))
        try file.setAttribute("libtorch", .string(Torch.version))
        // Sorted, so the same state always gives the same bytes.
        for name in attributes.keys.sorted() { try file.setAttribute(name, attributes[name]!) }
        for tensor in tensors {
            switch tensor.values {
            case .float32(let v): try file.write(v, to: tensor.name, shape: tensor.shape)
            case .float64(let v): try file.write(v, to: tensor.name, shape: tensor.shape)
            case .int64(let v): try file.write(v, to: tensor.name, shape: tensor.shape)
            case .uint8(let v): try file.write(v, to: tensor.name, shape: tensor.shape)
            }
        }
        if let rngState { try file.write(rngState, to: Self.rngPath) }
    }

    /// Loads the weights, buffers, Adam state and learning rate into `network`,
    /// which must have the same input shape and output count. The generator
    /// state is left to the caller (`Torch.setRNGState`), which owns that
    /// process-wide choice.
    public func restore(into network: DeepSSMNetwork) throws {
        guard !isTL else {
            throw TorchError(operation: "restore checkpoint", message:
                "the checkpoint holds a TL-DeepSSM model (variant tl), not a DeepSSM network; load it with makeTLNetwork")
        }
        guard network.inputShape == inputShape, network.outputCount == outputCount else {
            throw TorchError(operation: "restore checkpoint", message:
                "the checkpoint is for input \(inputShape) and \(outputCount) scores but the network takes \(network.inputShape) and \(network.outputCount); train again for this data")
        }
        try network.loadStateDict(tensors)
        try network.setLearningRate(learningRate)
    }

    /// A new network on `device` holding this checkpoint's state.
    public func makeNetwork(device: TorchDevice = .cpu) throws -> DeepSSMNetwork {
        let network = try DeepSSMNetwork(inputShape: inputShape, outputCount: outputCount, seed: 0,
                                         device: device, learningRate: learningRate)
        try restore(into: network)
        return network
    }
}
