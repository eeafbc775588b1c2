import Foundation
import ShapeModel
import GeometryKit
import HDF5Kit
import TorchKit
import Workflow

/// `deepssm-predict`: predicts PCA scores for the held-out images, un-whitens
/// them, and maps them to particles in the world frame (PCA mean + modes) and,
/// through each test subject's similarity transform, in its local image frame,
/// so that later comparisons happen in one frame (docs/reference.md §5).
public struct DeepSSMPredict: Stage {
    public static let kind = "deepssm-predict"
    public static let version = 3
    public static let summary = "predict particles for the test images with a trained DeepSSM network"
    public static let inputs = [
        Port("model", "deepssm-train output: best_model.h5, final_model.h5, normalization.json"),
        Port("loaders", "deepssm-loaders output: test.h5 holds the normalised test images"),
        Port("pca", "augment's PCA model artifact (pca.h5): mean and modes"),
        Port("test", "cohort artifact of the test subjects: their world→local frames, and the truth", optional: true),
        Port("validation", "cohort artifact of the validation subjects (split.validation): their frames and truth, used with `subjects: validation`", optional: true),
    ]
    public static let outputs = [
        Port("predictions", "predictions.h5 (scores, particles_world, particles_local, oracle_world, oracle_local), predicted_<id>.particles files under world/ and local/, and accuracy.json (particle RMSE of prediction, mean shape and PCA-K oracle) when the test cohort is connected"),
    ]

    public struct Params: StageParameters {
        /// `best` (lowest validation relative error) or `final`.
        public var model = "best"
        public var batch_size = 8
        /// `cpu`, `cuda`, or `auto`.
        public var device = "auto"
        /// libtorch threads: a fixed count by default (the same predictions on
        /// every machine); 0 takes the engine's share of this machine's cores.
        public var threads = 2
        /// `fp32` when left out; `tf32` or `bf16` (autocast) on CUDA GPUs of compute capability 8.0+.
        public var precision: String? = nil
        /// Whose images to predict: `test` (left out) or `validation`, the real
        /// validation subjects of the loaders (`split.validation`, connected as
        /// the `validation` input here and in `deepssm-analyze`, as the use case
        /// does): their accuracy and share may choose a recipe, the test set's not.
        public var subjects: String? = nil
        /// Test-time augmentation: predictions per image, averaged (the image as
        /// it is and `tta − 1` rigidly moved copies); left out or 1: off.
        public var tta: Int? = nil
        /// Standard deviation (degrees per axis) of the copies' rotations (default 3).
        public var tta_rotation: Double? = nil
        /// Standard deviation (mm per axis) of the copies' shifts (default 2).
        public var tta_shift: Double? = nil
        public static let optionalParameters = ["precision", "subjects", "tta", "tta_rotation", "tta_shift"]

        /// The copies' rotation and shift spreads, with their defaults.
        var ttaRotation: Double { tta_rotation ?? 3 }
        var ttaShift: Double { tta_shift ?? 2 }

        /// `test` or `validation`: the input port, the metric prefix and the word in messages.
        var subjectSet: String { subjects ?? "test" }
        var split: LoaderArtifact.Split { subjectSet == "validation" ? .validation : .test }

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if !["best", "final"].contains(model) {
                issues.append(.init("model", "'\(model)' is not a model of deepssm-train; use best or final"))
            }
            if batch_size < 1 { issues.append(.init("batch_size", "must be at least 1, got \(batch_size)")) }
            if TorchDevice(rawValue: device) == nil {
                issues.append(.init("device", "'\(device)' is not a device; use cpu, cuda or auto"))
            }
            if threads < 0 { issues.append(.init("threads", "must be 0 (automatic) or more, got \(threads)")) }
            if let issue = StagePrecision.issue(precision) { issues.append(issue) }
            if let tta, !(1...64).contains(tta) {
                issues.append(.init("tta", "must be between 1 (off) and 64 predictions per image, got \(tta)"))
            }
            if let tta_rotation, !(tta_rotation >= 0 && tta_rotation <= 20) {
                issues.append(.init("tta_rotation", "must be between 0 and 20 degrees, got \(tta_rotation)"))
            }
            if let tta_shift, !(tta_shift >= 0 && tta_shift <= 20) {
                issues.append(.init("tta_shift", "must be between 0 and 20 mm, got \(tta_shift)"))
            }
            if let subjects, !["test", "validation"].contains(subjects) {
                issues.append(.init("subjects", "'\(subjects)' is not a set of subjects of deepssm-loaders; use test or validation"))
            }
            return issues
        }
    }

    public init() {}

    public func run(_ params: Params, context: StageContext) async throws {
        let modelDirectory = try context.input("model")
        let loaders = LoaderArtifact(try context.input("loaders"))
        let normalization = try loaders.normalization()
        let trainedWith = try LoaderNormalization(contentsOf: LoaderArtifact.normalizationURL(in: modelDirectory))
        guard trainedWith == normalization else {
            throw StageFailure("the model was trained on other loaders than the ones connected (their normalization.json differ); connect the same 'deepssm-loaders' output to 'deepssm-train' and 'deepssm-predict'")
        }
        let pca = try PCAModel.input(of: context)
        let modelFile = modelDirectory.appendingPathComponent("\(params.model)_model.h5")
        let checkpoint = try DeepSSMTrain.torch { try NetworkCheckpoint(contentsOf: modelFile) }
        try TrainedShapeModel.check(checkpoint, normalization: normalization, pca: pca, source: modelFile.lastPathComponent)
        let k = normalization.numModes
        let test = try loaders.reader(params.split, batchSize: params.batch_size)
        let who = params.subjectSet
        guard params.split == .test || test.count > 0 else {
            throw StageFailure("the loaders hold no \(who) images (\(params.split.rawValue).h5 is empty); connect loaders that have them")
        }
        let frames = try context.hasInput(who) ? TestSubjectFrames(directory: try context.input(who), ids: test.ids, subjects: who) : nil

        let network = try TrainedShapeModel(checkpoint: checkpoint, device: try DeepSSMTrain.torch { () -> TorchDevice in
            try Torch.setThreads(params.threads > 0 ? params.threads : max(context.threads, 1))
            return try Torch.resolve(TorchDevice(rawValue: params.device) ?? .auto)
        })
        try network.apply(precision: params.precision)
        let shape = network.inputShape
        guard test.imageShape == [shape.depth, shape.height, shape.width] else {
            throw StageFailure("\(params.split.rawValue).h5 images are \(test.imageShape) but the model was trained on \(shape); connect the loaders the model was trained on")
        }
        let tuned = checkpoint.attributes["fine_tune_epoch"].map { ", fine-tuning epoch \($0.description)" } ?? ""
        let variant = checkpoint.isTL ? "TL-DeepSSM " : ""
        context.log("predicting \(test.count) \(who) subjects with the \(params.model) \(variant)model (epoch \(checkpoint.attributes["epoch"]?.description ?? "?")\(tuned)) on \(network.deviceName)")

        let tta = TestTimeAugmentation(
            copies: params.tta ?? 1, rotationDegrees: params.ttaRotation, shift: params.ttaShift,
            dims: SIMD3(normalization.dims[0], normalization.dims[1], normalization.dims[2]),
            spacing: SIMD3(normalization.spacing[0], normalization.spacing[1], normalization.spacing[2]))
        if tta.copies > 1 {
            context.log("test-time augmentation: each image predicted \(tta.copies) times (as it is and moved by rotations of sd \(params.ttaRotation)° and shifts of sd \(params.ttaShift) mm per axis), the predictions averaged")
        }

        var predictions = PredictionSet(ids: test.ids, numModes: k, numParticles: pca.numParticles)
        var relativeErrors: [Double] = []
        let batches = test.batches(epoch: 0)
        defer { batches.stop() }
        while let batch = try batches.next() {
            try context.checkCancellation()
            var shapes = try network.predict(images: batch.images, normalization: normalization, pca: pca)
            if tta.copies > 1 {
                for c in 1..<tta.copies {
                    let moved = tta.moved(batch.images, count: batch.count, copy: c)
                    let more = try network.predict(images: moved, normalization: normalization, pca: pca)
                    for slot in shapes.indices { shapes[slot].add(more[slot]) }
                }
                for slot in shapes.indices { shapes[slot].divide(by: tta.copies) }
            }
            for (slot, index) in batch.indices.enumerated() {
                let (predicted, scores, world) = (shapes[slot].whitened, shapes[slot].scores, shapes[slot].world)
                let local = try frames.map { try $0.worldToLocal(batch.ids[slot]).apply(world) }
                predictions.set(index, scores: scores, world: world, local: local)
                if !batch.targets.isEmpty {
                    let truth = batch.targets[(slot * k)..<((slot + 1) * k)]
                    let mse = zip(predicted, truth).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
                    let reference = truth.map { Double($0) * Double($0) }.reduce(0, +)
                    if reference > 0 { relativeErrors.append(mse / reference) }
                }
            }
            context.progress(predictions.filled, of: test.count, "predicted \(predictions.filled) of \(test.count)")
        }

        let output = context.outputURL("predictions")
        let accuracy = try frames.map { try predictions.accuracy(pca: pca, frames: $0) }
        try predictions.write(to: output, subjects: who)
        if !relativeErrors.isEmpty {
            context.metric("\(who)_rel_error", relativeErrors.reduce(0, +) / Double(relativeErrors.count))
        }
        if let accuracy {
            try accuracy.encoded().write(to: output.appendingPathComponent(ParticleAccuracy.fileName))
            context.metric("\(who)_particle_rmse_world_mm", accuracy.prediction)
            context.metric("mean_shape_particle_rmse_world_mm", accuracy.meanShape)
            context.metric("oracle_particle_rmse_world_mm", accuracy.oracle)
            if let share = accuracy.achievableGainShare { context.metric("achievable_gain_share", share) }
            context.log("world frame, \(accuracy.subjects.count) \(who) subjects: \(accuracy.sentence)")
            if let modes = accuracy.modeSentence { context.log(modes) }
        }
    }
}
