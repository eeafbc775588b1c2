import Foundation
import TorchKit
import Workflow

/// The training recipe of `deepssm-train` beyond plain Adam on MSE, with
/// ShapeWorks 6.7's names and semantics (docs/training-recipe.md): the
/// learning-rate schedule, the loss, early stopping and the live intensity
/// augmentation.
extension DeepSSMTrain.Params {
    static let schedules = ["none", "exponential", "step", "cosine"]
    static let losses = ["mse", "focal"]

    /// The schedule in force: `decay_lr: true` (the older switch) means `exponential`.
    var schedule: String { decay_lr && lr_schedule == "none" ? "exponential" : lr_schedule }

    /// The learning rate of epoch `epoch` (1-based), as a scheduler stepped
    /// after every epoch gives it:
    /// - `exponential`: learning_rate · decay_gamma^(e−1);
    /// - `step` (ShapeWorks `Step`, PyTorch StepLR): learning_rate · gamma^⌊(e−1)/step_size⌋;
    /// - `cosine` (ShapeWorks `CosineAnnealing`, PyTorch CosineAnnealingLR, closed
    ///   form): eta_min + (learning_rate − eta_min)(1 + cos(π (e−1)/T_max))/2.
    func learningRate(epoch: Int) -> Double {
        let done = Double(epoch - 1)
        switch schedule {
        case "exponential": return learning_rate * pow(decay_gamma, done)
        case "step": return learning_rate * pow(gamma, Double((epoch - 1) / step_size))
        case "cosine": return eta_min + (learning_rate - eta_min) * (1 + cos(Double.pi * done / Double(T_max))) / 2
        default: return learning_rate
        }
    }

    var trainingLoss: DeepSSMNetwork.Loss { loss == "focal" ? .focal(a: focal_a, c: focal_c) : .mse }

    static let lossWeightings = ["equal", "variance"]

    /// The per-score weights of the loss, nil for equal weights. `variance`:
    /// σ_k² / mean(σ²), σ_k the std of mode k's raw scores that the loaders
    /// whiten by. The PCA modes are orthonormal, so Σ_k σ_k² (ŝ_k − s_k)² of
    /// whitened scores is the squared particle error within the PCA subspace;
    /// the weights keep the loss's scale (their mean is 1).
    func scoreWeights(_ normalization: LoaderNormalization) -> [Float]? {
        guard loss_weights == "variance" else { return nil }
        let variances = normalization.scoreStd.map { $0 * $0 }
        let mean = variances.reduce(0, +) / Double(max(variances.count, 1))
        guard mean > 0 else { return nil }
        return variances.map { Float($0 / mean) }
    }

    var augmentation: IntensityAugmentation {
        guard intensity_augmentation else { return IntensityAugmentation() }
        return IntensityAugmentation(
            scale: .init(magnitude: intensity_scale, probability: intensity_scale_p),
            shift: .init(magnitude: intensity_shift, probability: intensity_shift_p),
            noise: .init(magnitude: intensity_noise, probability: intensity_noise_p),
            gamma: .init(magnitude: intensity_gamma, probability: intensity_gamma_p),
            blur: .init(magnitude: intensity_blur, probability: intensity_blur_p),
            seed: UInt64(max(seed, 0)))
    }

    /// Early stopping: true when `patience` validated epochs have passed since
    /// the best one (lowest validation relative error) without improving on it.
    func shouldStop(after history: TrainingHistory) -> Bool {
        guard early_stopping, let best = history.bestEpoch else { return false }
        let since = history.epochs.filter { $0.epoch > best.epoch && $0.valRelativeError != nil }.count
        return since >= patience
    }

    /// The first epoch of `history` after which early stopping ends training; nil when none.
    func stoppingEpoch(in history: TrainingHistory) -> Int? {
        guard early_stopping else { return nil }
        return history.epochs.map(\.epoch).first { shouldStop(after: history.prefix(through: $0)) }
    }

    func recipeIssues() -> [ParameterIssue] {
        var issues: [ParameterIssue] = []
        if !Self.schedules.contains(lr_schedule) {
            issues.append(.init("lr_schedule", "'\(lr_schedule)' is not a schedule; use \(Self.schedules.joined(separator: ", "))"))
        } else if decay_lr && !["none", "exponential"].contains(lr_schedule) {
            issues.append(.init("decay_lr", "decay_lr: true means lr_schedule: exponential, but lr_schedule is '\(lr_schedule)'; remove decay_lr"))
        }
        if step_size < 1 { issues.append(.init("step_size", "must be at least 1 epoch, got \(step_size)")) }
        if !(gamma > 0 && gamma <= 1) { issues.append(.init("gamma", "must be in (0, 1], got \(gamma)")) }
        if T_max < 1 { issues.append(.init("T_max", "must be at least 1 epoch (the cosine's half period), got \(T_max)")) }
        if !(eta_min >= 0) || (schedule == "cosine" && learning_rate > 0 && eta_min >= learning_rate) {
            issues.append(.init("eta_min", "must be in [0, learning_rate) for the cosine schedule, got \(eta_min)"))
        }
        if !Self.losses.contains(loss) {
            issues.append(.init("loss", "'\(loss)' is not a loss; use \(Self.losses.joined(separator: " or "))"))
        }
        if !(focal_a >= 0 && focal_a.isFinite) { issues.append(.init("focal_a", "must be 0 (plain MSE) or positive, got \(focal_a)")) }
        if !focal_c.isFinite { issues.append(.init("focal_c", "must be a number, got \(focal_c)")) }
        if patience < 1 { issues.append(.init("patience", "must be at least 1 validated epoch, got \(patience)")) }
        if early_stopping && val_freq < 1 {
            issues.append(.init("early_stopping", "needs validation, but val_freq is \(val_freq); set val_freq to 1 or more, or early_stopping to false"))
        }
        let transforms: [(String, Double, Double)] = [
            ("intensity_scale", intensity_scale, intensity_scale_p), ("intensity_shift", intensity_shift, intensity_shift_p),
            ("intensity_noise", intensity_noise, intensity_noise_p), ("intensity_gamma", intensity_gamma, intensity_gamma_p),
            ("intensity_blur", intensity_blur, intensity_blur_p),
        ]
        for (name, magnitude, probability) in transforms {
            if !(magnitude >= 0 && magnitude.isFinite) {
                issues.append(.init(name, "must be 0 (off) or positive, got \(magnitude)"))
            }
            if !(probability >= 0 && probability <= 1) {
                issues.append(.init("\(name)_p", "is a probability and must be in [0, 1], got \(probability)"))
            }
        }
        if intensity_scale >= 1 { issues.append(.init("intensity_scale", "must be below 1 (a factor 1 ± scale), got \(intensity_scale)")) }
        return issues
    }
}
