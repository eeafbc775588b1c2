import XCTest
@testable import TorchKit

/// ShapeWorks' focal loss, mean(l² / (1 + exp(a (c − l)))), on a known case:
/// with a = 0 it is half the MSE, and Adam's steps do not depend on the scale
/// of the loss, so one step moves the weights as MSE does; with ShapeWorks'
/// a = 1.32, c = 10 the step differs. The returned loss is the MSE either way.
final class FocalLossTests: XCTestCase {
    private func weights(_ net: DeepSSMNetwork) throws -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        for entry in try net.stateDict() where !entry.name.hasPrefix("optimizer/") {
            if case .float32(let values) = entry.values { result[entry.name] = values }
        }
        return result
    }

    private func maxDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
        var worst: Float = 0
        for (name, x) in a { worst = max(worst, zip(x, b[name]!).map { abs($0 - $1) }.max() ?? 0) }
        return worst
    }

    func test_focal_aZeroStepsLikeMSE_shapeWorksDefaultsStepOtherwise_lossReportedIsMSE() throws {
        let data = TinyRegression(batch: 2, seed: 21)
        func trained(_ loss: DeepSSMNetwork.Loss?) throws -> (loss: Double, weights: [String: [Float]]) {
            let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 9, learningRate: 1e-3)
            if let loss { try net.setLoss(loss) }
            let value = try net.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets)
            return (value, try weights(net))
        }
        let mse = try trained(nil), half = try trained(.focal(a: 0, c: 0)), focal = try trained(.focal(a: 1.32, c: 10))
        XCTAssertEqual(half.loss, mse.loss, "the reported loss is the MSE")
        XCTAssertEqual(focal.loss, mse.loss)
        // Adam's first step is lr · g / (|g| + ε): halving g changes it by at most
        // 0.18 lr (where |g| ≈ ε); the focal weighting changes directions and sizes.
        let lr: Float = 1e-3
        XCTAssertLessThan(maxDifference(mse.weights, half.weights), 0.25 * lr, "a = 0: MSE / 2, the same Adam step")
        XCTAssertGreaterThan(maxDifference(mse.weights, focal.weights), 0.5 * lr, "the focal weights change the step")
        let again = try trained(.mse)
        XCTAssertEqual(again.weights, mse.weights, "setting MSE is the default")
    }
}
