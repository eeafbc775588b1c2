import Foundation
import ShapeModel
import TorchKit
import Workflow

/// A trained DeepSSM model as ShapeWorks' `DeepSSMUtils` loads it:
///
/// ```
/// <name>.json                   the config (ShapeWorks' keys: model_name, num_latent_dim, paths, encoder,
///                               decoder, loss, trainer, fine_tune, use_best_model, tl_net)
/// <name>/best_model.torch       state dicts (torch.save format) with ShapeWorks' names:
/// <name>/final_model.torch        encoder.ConvolutionalBackbone.features.{conv1..5,bn1..5,relu1..7,fc1,fc2}.*,
///                                 encoder.pca_pred.linear.*, decoder.fc_fine.* (PCA modes and mean)
/// torch_loaders/mean_PCA.npy    the score mean and std the encoder un-whitens with
/// torch_loaders/std_PCA.npy
/// ```
///
/// The paths in the config are relative to the export directory: run
/// ShapeWorks from there, or edit `paths` to absolute ones.
public enum ShapeWorksModelExport {
    public static let loaderDirectory = "torch_loaders"

    /// Writes the model of a `deepssm-train` output `model` (holding
    /// best_model.h5, final_model.h5, normalization.json) with the PCA model
    /// `pca` (the `augment.pca` it was trained with) into `directory`.
    public static func write(model: URL, pca pcaURL: URL, name: String = "femur_deepssm", to directory: URL) throws {
        let normalization = try LoaderNormalization(contentsOf: LoaderArtifact.normalizationURL(in: model))
        let pca: PCAModel
        do { pca = try PCAModel(contentsOf: pcaURL) } catch {
            throw StageFailure("cannot read the PCA model \(pcaURL.path): \(error); export a model whose 'augment' output is still cached")
        }
        let k = normalization.numModes
        guard pca.numModes == k else {
            throw StageFailure("the model in \(model.path) predicts \(k) scores but the PCA model \(pcaURL.path) keeps \(pca.numModes) modes; export the PCA model the model was trained with")
        }
        let fm = FileManager.default
        let modelDirectory = directory.appendingPathComponent(name)
        let loaders = directory.appendingPathComponent(loaderDirectory)
        try fm.createDirectory(at: modelDirectory, withIntermediateDirectories: true)
        try fm.createDirectory(at: loaders, withIntermediateDirectories: true)
        var epochs = 0, learningRate = 1e-4
        for which in ["best", "final"] {
            let file = model.appendingPathComponent("\(which)_model.h5")
            let checkpoint = try DeepSSMTrain.torch { try NetworkCheckpoint(contentsOf: file) }
            guard !checkpoint.isTL else {
                throw StageFailure("\(file.path) is a TL-DeepSSM model (variant tl); the ShapeWorks export writes the DeepSSM network only; export a model trained with variant base")
            }
            guard checkpoint.outputCount == k else {
                throw StageFailure("\(file.path) predicts \(checkpoint.outputCount) scores but normalization.json whitens \(k); the model directory is inconsistent, rerun deepssm-train")
            }
            if case .int(let e)? = checkpoint.attributes["epoch"] { epochs = max(epochs, Int(e)) }
            learningRate = checkpoint.learningRate
            let tensors = try stateDict(checkpoint.tensors, file: file) + decoder(pca)
            try DeepSSMTrain.torch { try PyTorchStateFile.write(tensors, to: modelDirectory.appendingPathComponent("\(which)_model.torch")) }
        }
        try NumPyArray.write(normalization.scoreMean, to: loaders.appendingPathComponent("mean_PCA.npy"))
        try NumPyArray.write(normalization.scoreStd, to: loaders.appendingPathComponent("std_PCA.npy"))
        try config(name: name, numModes: k, epochs: epochs, learningRate: learningRate)
            .write(to: directory.appendingPathComponent("\(name).json"))
    }

    /// ShapeWorks' name for each of our state-dict entries; optimizer state is dropped.
    static func shapeWorksName(_ name: String) -> String? {
        if name.hasPrefix("optimizer/") { return nil }
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        let (module, field) = (parts[0], parts[1])
        let backbone = "encoder.ConvolutionalBackbone.features."
        if module == "fc3" { return "encoder.pca_pred.linear.\(field)" }
        if module.hasPrefix("prelu") { return backbone + "relu" + module.dropFirst("prelu".count) + "." + field }
        if ["conv", "bn", "fc"].contains(where: { module.hasPrefix($0) }) { return backbone + name }
        return nil
    }

    static func stateDict(_ tensors: [StateTensor], file: URL) throws -> [StateTensor] {
        var renamed: [StateTensor] = []
        for tensor in tensors where !tensor.name.hasPrefix("optimizer/") {
            guard let name = shapeWorksName(tensor.name) else {
                throw StageFailure("\(file.path) holds '\(tensor.name)', which has no counterpart in ShapeWorks' DeepSSM network; export a model trained by deepssm-train")
            }
            renamed.append(StateTensor(name: name, shape: tensor.shape, values: tensor.values))
        }
        return renamed
    }

    /// ShapeWorks' linear decoder: un-whitened scores → particles, `μ + U[:, :K] s`.
    static func decoder(_ pca: PCAModel) -> [StateTensor] {
        let p = pca.mean.count, n = pca.modeCount, k = pca.numModes
        var weight = [Float](repeating: 0, count: p * k)
        for r in 0..<p { for j in 0..<k { weight[r * k + j] = Float(pca.modes[r * n + j]) } }
        return [StateTensor(name: "decoder.fc_fine.weight", shape: [p, k], values: .float32(weight)),
                StateTensor(name: "decoder.fc_fine.bias", shape: [p], values: .float32(pca.mean.map(Float.init)))]
    }

    /// The config JSON in ShapeWorks' layout (keys as its `prepare_config_file` writes them).
    static func config(name: String, numModes: Int, epochs: Int, learningRate: Double) throws -> Data {
        let text = """
        {
          "model_name": "\(name)",
          "num_latent_dim": \(numModes),
          "paths": {
            "out_dir": "./",
            "loader_dir": "\(loaderDirectory)/",
            "aug_dir": "augmentation/"
          },
          "encoder": {"deterministic": true},
          "decoder": {"deterministic": true, "linear": true},
          "loss": {"function": "MSE", "supervised_latent": true},
          "trainer": {"epochs": \(epochs), "learning_rate": \(learningRate), "decay_lr": {"enabled": false}, "val_freq": 1},
          "fine_tune": {"enabled": false},
          "use_best_model": true,
          "tl_net": {"enabled": false}
        }

        """
        return Data(text.utf8)
    }
}
