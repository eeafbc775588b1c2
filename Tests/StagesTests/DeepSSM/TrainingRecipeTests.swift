import Foundation
import Workflow
import XCTest
@testable import Stages

final class TrainingRecipeTests: XCTestCase {
    private func params(_ edit: (inout DeepSSMTrain.Params) -> Void) -> DeepSSMTrain.Params {
        var p = DeepSSMTrain.Params()
        p.learning_rate = 1e-3
        edit(&p)
        return p
    }

    func test_learningRate_none_isConstant() {
        let p = params { _ in }
        XCTAssertEqual((1...5).map { p.learningRate(epoch: $0) }, [Double](repeating: 1e-3, count: 5))
    }

    func test_learningRate_exponential_andTheOlderDecayLRSwitch() {
        let p = params { $0.lr_schedule = "exponential"; $0.decay_gamma = 0.5 }
        XCTAssertEqual((1...3).map { p.learningRate(epoch: $0) }, [1e-3, 5e-4, 2.5e-4])
        let old = params { $0.decay_lr = true; $0.decay_gamma = 0.5 }
        XCTAssertEqual(old.schedule, "exponential")
        XCTAssertEqual(old.learningRate(epoch: 3), 2.5e-4)
    }

    func test_learningRate_step_dropsByGammaEveryStepSizeEpochs() {
        let p = params { $0.lr_schedule = "step"; $0.step_size = 2; $0.gamma = 0.1 }
        let rates = (1...5).map { p.learningRate(epoch: $0) }
        for (a, b) in zip(rates, [1e-3, 1e-3, 1e-4, 1e-4, 1e-5]) { XCTAssertEqual(a, b, accuracy: 1e-15) }
    }

    func test_learningRate_cosine_fromLearningRateToEtaMinOverTMax() {
        let p = params { $0.lr_schedule = "cosine"; $0.T_max = 4; $0.eta_min = 1e-5 }
        XCTAssertEqual(p.learningRate(epoch: 1), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(p.learningRate(epoch: 3), (1e-3 + 1e-5) / 2, accuracy: 1e-15, "half way: the midpoint")
        XCTAssertEqual(p.learningRate(epoch: 5), 1e-5, accuracy: 1e-15, "after T_max epochs: eta_min")
    }

    func test_shouldStop_afterPatienceValidatedEpochsWithoutImprovement() {
        func row(_ e: Int, _ v: Double?) -> TrainingEpoch {
            TrainingEpoch(epoch: e, learningRate: 1, trainError: 1, trainRelativeError: 1, valError: v, valRelativeError: v)
        }
        let p = params { $0.early_stopping = true; $0.patience = 2 }
        XCTAssertFalse(p.shouldStop(after: TrainingHistory(epochs: [row(1, 0.5), row(2, 0.4), row(3, 0.45)])))
        XCTAssertTrue(p.shouldStop(after: TrainingHistory(epochs: [row(1, 0.5), row(2, 0.4), row(3, 0.45), row(4, 0.41)])))
        XCTAssertFalse(p.shouldStop(after: TrainingHistory(epochs: [row(1, 0.5), row(2, 0.4), row(3, nil), row(4, 0.41)])),
                       "only validated epochs count")
        let off = params { $0.patience = 1 }
        XCTAssertFalse(off.shouldStop(after: TrainingHistory(epochs: [row(1, 0.4), row(2, 0.5), row(3, 0.6)])))
    }

    func test_validate_badRecipe_namesEachParameterAndTheFix() {
        let p = params {
            $0.lr_schedule = "plateau"
            $0.loss = "huber"
            $0.intensity_noise_p = 1.5
            $0.intensity_blur = -1
            $0.early_stopping = true
            $0.val_freq = 0
            $0.T_max = 0
        }
        let issues = Dictionary(p.validate().map { ($0.parameter, $0.message) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(issues["lr_schedule"], "'plateau' is not a schedule; use none, exponential, step, cosine")
        XCTAssertEqual(issues["loss"], "'huber' is not a loss; use mse or focal")
        XCTAssertEqual(issues["intensity_noise_p"], "is a probability and must be in [0, 1], got 1.5")
        XCTAssertEqual(issues["intensity_blur"], "must be 0 (off) or positive, got -1.0")
        XCTAssertEqual(issues["early_stopping"], "needs validation, but val_freq is 0; set val_freq to 1 or more, or early_stopping to false")
        XCTAssertNotNil(issues["T_max"])
        let mixed = params { $0.decay_lr = true; $0.lr_schedule = "cosine" }
        XCTAssertEqual(mixed.validate().map(\.parameter), ["decay_lr"])
        XCTAssertEqual(DeepSSMTrain.Params().validate(), [], "the defaults are valid")
    }

    func test_epochSeed_dependsOnSeedAndEpochOnly() {
        XCTAssertEqual(DeepSSMTrain.epochSeed(1, epoch: 3), DeepSSMTrain.epochSeed(1, epoch: 3))
        XCTAssertNotEqual(DeepSSMTrain.epochSeed(1, epoch: 3), DeepSSMTrain.epochSeed(1, epoch: 4))
        XCTAssertNotEqual(DeepSSMTrain.epochSeed(1, epoch: 3), DeepSSMTrain.epochSeed(2, epoch: 3))
    }
}
