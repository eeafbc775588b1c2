import Foundation
import TorchKit
import Workflow

/// The parameters of `variant: tl` (TL-DeepSSM, docs/training-recipe.md), with
/// ShapeWorks' `tl_net` names prefixed `tl_`: their defaults, checks, and
/// which of them each phase's memoized epochs ignore.
extension DeepSSMTrain.Params {
    static let variants = ["base", "tl"]
    static let tlParameterNames = ["variant", "tl_ae_epochs", "tl_tf_epochs", "tl_joint_epochs", "tl_alpha",
                                   "tl_a_ae", "tl_c_ae", "tl_a_lat", "tl_c_lat", "tl_latent_dim"]

    var isTL: Bool { variant == "tl" }

    /// Epochs of each phase: left out, `epochs` (ShapeWorks' config has 100, 100 and 25).
    var tlAutoencoderEpochs: Int { tl_ae_epochs ?? epochs }
    var tlTFlankEpochs: Int { tl_tf_epochs ?? epochs }
    var tlJointEpochs: Int { tl_joint_epochs ?? epochs }
    /// ShapeWorks' defaults: alpha 1, (a, c) = (10, 1.32) on particles and (10, 6.3) on latent codes.
    var tlAlpha: Double { tl_alpha ?? 1 }
    var tlLoss: TLDeepSSMNetwork.Loss {
        loss == "focal" ? .focal(aAE: tl_a_ae ?? 10, cAE: tl_c_ae ?? 1.32, aLatent: tl_a_lat ?? 10, cLatent: tl_c_lat ?? 6.3)
                        : .mse
    }

    /// The latent size: `tl_latent_dim`, else K (ShapeWorks' `num_latent_dim`).
    func tlLatentSize(numModes: Int) -> Int { tl_latent_dim ?? numModes }

    func tlIssues() -> [ParameterIssue] {
        var issues: [ParameterIssue] = []
        if let variant, !Self.variants.contains(variant) {
            issues.append(.init("variant", "'\(variant)' is not a variant; use base (the DeepSSM network) or tl (TL-DeepSSM)"))
            return issues
        }
        let set: [(String, Bool)] = [
            ("tl_ae_epochs", tl_ae_epochs != nil), ("tl_tf_epochs", tl_tf_epochs != nil),
            ("tl_joint_epochs", tl_joint_epochs != nil), ("tl_alpha", tl_alpha != nil), ("tl_a_ae", tl_a_ae != nil),
            ("tl_c_ae", tl_c_ae != nil), ("tl_a_lat", tl_a_lat != nil), ("tl_c_lat", tl_c_lat != nil),
            ("tl_latent_dim", tl_latent_dim != nil),
        ]
        guard isTL else {
            for (name, given) in set where given {
                issues.append(.init(name, "applies to TL-DeepSSM only; add `variant: tl` or remove \(name)"))
            }
            return issues
        }
        for (name, value) in [("tl_ae_epochs", tl_ae_epochs), ("tl_tf_epochs", tl_tf_epochs),
                              ("tl_joint_epochs", tl_joint_epochs)] {
            if let value, value < 0 { issues.append(.init(name, "must be 0 (skip the phase) or more, got \(value)")) }
        }
        if tlTFlankEpochs == 0 && tlJointEpochs == 0 {
            issues.append(.init(tl_tf_epochs != nil ? "tl_tf_epochs" : "tl_joint_epochs",
                                "the image encoder would never be trained: tl_tf_epochs and tl_joint_epochs are both 0; set one of them to 1 or more"))
        }
        if let dim = tl_latent_dim, dim < 1 {
            issues.append(.init("tl_latent_dim", "must be at least 1 (left out: the loaders' K), got \(dim)"))
        }
        if let alpha = tl_alpha, !(alpha >= 0 && alpha.isFinite) {
            issues.append(.init("tl_alpha", "must be 0 or positive (the latent loss's weight in the joint phase), got \(alpha)"))
        }
        for (name, value) in [("tl_a_ae", tl_a_ae), ("tl_a_lat", tl_a_lat)] {
            if let value, !(value >= 0 && value.isFinite) { issues.append(.init(name, "must be 0 or positive, got \(value)")) }
        }
        for (name, value) in [("tl_c_ae", tl_c_ae), ("tl_c_lat", tl_c_lat)] {
            if let value, !value.isFinite { issues.append(.init(name, "must be a number, got \(value)")) }
        }
        if fine_tune_epochs > 0 {
            issues.append(.init("fine_tune_epochs", "is for variant base (fine-tuning through the fixed PCA decoder); TL-DeepSSM trains its decoder in the joint phase: set fine_tune_epochs to 0"))
        }
        if early_stopping {
            issues.append(.init("early_stopping", "is not available with variant tl (its best model is the joint epoch of lowest validation error); set early_stopping to false"))
        }
        if let samples = precise_bn_samples, samples > 0 {
            issues.append(.init("precise_bn_samples", "is for variant base; TL-DeepSSM keeps the moving batch-norm statistics of training: remove precise_bn_samples"))
        }
        if let weights = loss_weights, weights != "equal" {
            issues.append(.init("loss_weights", "is for variant base; TL-DeepSSM already trains on particles: remove loss_weights"))
        }
        if let precision, precision != "fp32" {
            issues.append(.init("precision", "'\(precision)' is not available with variant tl, which trains in fp32; remove precision"))
        }
        return issues
    }
}

extension DeepSSMTrain: DynamicPorts {
    /// `pca` is required with `variant: tl` (the training particles are decoded from the scores with it).
    public static func inputs(for params: Params, connected: [String]) -> [Workflow.Port] {
        guard params.isTL else { return Self.inputs }
        return Self.inputs.map { port in
            port.name == "pca"
                ? Workflow.Port("pca", "augment's PCA model (pca.h5): variant tl decodes the training particles from the loaders' scores with it")
                : port
        }
    }

    public static func outputs(for params: Params) -> [Workflow.Port] { Self.outputs }

    // What the memoized epochs of each TL phase do not depend on. The epoch
    // counts of the phases before are in the slot's name instead (their
    // defaults follow `epochs`).
    static let tlCounts: Set<String> = ["epochs", "tl_ae_epochs", "tl_tf_epochs", "tl_joint_epochs", "log_scale",
                                        "fine_tune_epochs", "fine_tune_learning_rate", "early_stopping", "patience"]
    /// The schedule applies to the joint phase only.
    static let tlSchedule: Set<String> = ["lr_schedule", "decay_lr", "decay_gamma", "step_size", "gamma", "T_max", "eta_min"]
    static let tlIntensity: Set<String> = ["intensity_augmentation", "intensity_scale", "intensity_scale_p",
                                           "intensity_shift", "intensity_shift_p", "intensity_noise", "intensity_noise_p",
                                           "intensity_gamma", "intensity_gamma_p", "intensity_blur", "intensity_blur_p"]

    static func tlMemoIgnored(_ phase: TLDeepSSMNetwork.Phase) -> Set<String> {
        switch phase {
        case .autoencoder: tlCounts.union(tlSchedule).union(tlIntensity).union(["tl_alpha", "tl_a_lat", "tl_c_lat"])
        case .tflank: tlCounts.union(tlSchedule).union(["tl_alpha"])
        case .joint: tlCounts
        }
    }
}
