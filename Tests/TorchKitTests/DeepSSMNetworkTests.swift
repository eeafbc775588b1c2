import XCTest
@testable import TorchKit

/// A tiny synthetic regression at the network's smallest input: each target is
/// the mean intensity of one half of the volume, so it is learnable.
struct TinyRegression {
    static let shape = InputShape(depth: 60, height: 60, width: 60)
    let images: [Float]
    let targets: [Float]

    init(batch: Int, seed: UInt64) {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            // SplitMix64: a fixed, platform-independent sequence.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
        }
        let n = Self.shape.voxelCount
        var images = [Float](repeating: 0, count: batch * n)
        var targets = [Float](repeating: 0, count: batch * 2)
        for b in 0..<batch {
            let left = next() * 2 - 1, right = next() * 2 - 1
            for i in 0..<n {
                let x = i % Self.shape.width
                images[b * n + i] = (x < Self.shape.width / 2 ? left : right) + 0.1 * (next() - 0.5)
            }
            targets[b * 2] = left
            targets[b * 2 + 1] = right
        }
        self.images = images
        self.targets = targets
    }
}

final class DeepSSMNetworkTests: XCTestCase {
    func test_flattenedSize_fullSizeInput_is17280() throws {
        // 78 × 96 × 102 reduce to 3 × 5 × 6 after the five convolutions and three pools.
        XCTAssertEqual(try DeepSSMNetwork.flattenedSize(for: InputShape(depth: 78, height: 96, width: 102)), 17_280)
        XCTAssertEqual(try DeepSSMNetwork.flattenedSize(for: InputShape(depth: 60, height: 60, width: 60)), 192)
    }

    func test_parameterCount_fullSizeInput_matchesHandCount() throws {
        let net = try DeepSSMNetwork(inputShape: InputShape(depth: 78, height: 96, width: 102),
                                     outputCount: 6, seed: 1)
        let channels = [1, 12, 24, 48, 96, 192]
        var expected = 0
        for i in 0..<5 {
            expected += channels[i] * channels[i + 1] * 125 + channels[i + 1]  // conv
            expected += 2 * channels[i + 1] + 1                                 // batch norm, PReLU
        }
        expected += 17_280 * 384 + 384 + 1 + 384 * 96 + 96 + 1 + 96 * 6 + 6
        XCTAssertEqual(net.parameterCount, expected)
        XCTAssertEqual(expected, 9_736_069)  // the spec's "about 9.7 M"
        XCTAssertEqual(net.flattenedSize, 17_280)
    }

    func test_create_inputBelowMinimum_namesMinimumSize() {
        XCTAssertThrowsError(try DeepSSMNetwork(inputShape: InputShape(depth: 59, height: 80, width: 80),
                                                outputCount: 3, seed: 1)) { error in
            let message = (error as? TorchError)?.message ?? ""
            XCTAssertTrue(message.contains("1x59x80x80"), message)
            XCTAssertTrue(message.contains("at least 60"), message)
        }
        XCTAssertEqual(DeepSSMNetwork.minimumInputSize, 60)
    }

    func test_trainBatch_wrongImageShape_throwsTorchErrorWithMessage() throws {
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1)
        let wrong = InputShape(depth: 61, height: 60, width: 60)
        let images = [Float](repeating: 0, count: wrong.voxelCount)
        XCTAssertThrowsError(try net.trainBatch(images: images, shape: wrong, targets: [0, 0])) { error in
            let message = (error as? TorchError)?.message ?? "\(error)"
            XCTAssertTrue(message.contains("1x61x60x60"), message)
            XCTAssertTrue(message.contains("built for 1x60x60x60"), message)
        }
    }

    func test_trainBatch_targetCountMismatch_throwsTorchError() throws {
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1)
        let images = [Float](repeating: 0, count: TinyRegression.shape.voxelCount)
        XCTAssertThrowsError(try net.trainBatch(images: images, shape: TinyRegression.shape, targets: [0, 0, 0])) {
            XCTAssertTrue("\($0)".contains("3 target values do not match 1 samples of 2 scores"), "\($0)")
        }
    }

    func test_trainBatch_tinyRegression_lossFalls() throws {
        let data = TinyRegression(batch: 2, seed: 7)
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 3, learningRate: 1e-3)
        var losses: [Double] = []
        for _ in 0..<6 {
            losses.append(try net.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets))
        }
        XCTAssertTrue(losses.allSatisfy { $0.isFinite })
        XCTAssertLessThan(losses.suffix(2).reduce(0, +) / 2, 0.5 * losses[0], "losses \(losses)")
    }

    func test_init_sameSeed_sameWeights_otherSeed_otherWeights() throws {
        let a = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 11).stateDict()
        let b = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 11).stateDict()
        let c = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 12).stateDict()
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.first { $0.name == "conv1.weight" }, c.first { $0.name == "conv1.weight" })
    }

    func test_init_xavierNormal_hasExpectedSpread() throws {
        // Xavier-normal std for fc2 (384 → 96) is sqrt(2 / 480) ≈ 0.0645.
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 5)
        guard case .float32(let w)? = try net.stateDict().first(where: { $0.name == "fc2.weight" })?.values else {
            return XCTFail("fc2.weight missing")
        }
        let mean = w.reduce(0, +) / Float(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w.count)).squareRoot()
        XCTAssertEqual(Double(std), (2.0 / 480.0).squareRoot(), accuracy: 0.002)
        XCTAssertEqual(Double(mean), 0, accuracy: 0.002)
    }
}
