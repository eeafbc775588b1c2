import Foundation
import XCTest
@testable import TorchKit

/// TL-DeepSSM's model on real libtorch: the autoencoder, the phases' frozen
/// parts, state and checkpoints.
final class TLDeepSSMNetworkTests: XCTestCase {
    /// Ten particles (30 values) that vary along two directions only, offset
    /// from the origin as world-frame particles are: a rank-2 affine set.
    private func lowRankParticles(count: Int, seed: UInt64) -> [Float] {
        var state = seed
        func unit() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let p = 30
        let u = (0..<p).map { Double(($0 * 7) % 11) / 11 - 0.5 }
        let v = (0..<p).map { Double(($0 * 5) % 13) / 13 - 0.5 }
        let mean = (0..<p).map { 1 + Double($0 % 3) }
        return (0..<count).flatMap { _ -> [Float] in
            let a = unit() * 4 - 2, b = unit() * 4 - 2
            return (0..<p).map { Float(mean[$0] + a * u[$0] + b * v[$0]) }
        }
    }

    private func rms(_ x: [Float], _ y: [Float]) -> Double {
        (zip(x, y).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(x.count)).squareRoot()
    }

    private func tensors(_ net: TLDeepSSMNetwork, prefix: String) throws -> [StateTensor] {
        try net.stateDict().filter { $0.name.hasPrefix(prefix) || $0.name.hasPrefix("optimizer/" + prefix) }
    }

    func test_autoencoder_reconstructsLowRankParticles() throws {
        let data = lowRankParticles(count: 16, seed: 5)
        let net = try TLDeepSSMNetwork(inputShape: TinyRegression.shape, particleValues: 30, latentSize: 2, seed: 1,
                                       learningRate: 2e-3)
        var mean = [Double](repeating: 0, count: 30)
        for (i, v) in data.enumerated() { mean[i % 30] += Double(v) / 16 }
        var sum = 0.0
        for (i, v) in data.enumerated() {
            let d = Double(v) - mean[i % 30]
            sum += d * d
        }
        let spread = (sum / Double(data.count)).squareRoot()
        var first = 0.0, last = 0.0, trace: [Double] = []
        for step in 0..<1000 {
            let errors = try net.trainBatch(.autoencoder, images: [], particles: data)
            if step == 0 { first = errors.particleMSE }
            last = errors.particleMSE
            if step % 100 == 0 { trace.append(errors.particleMSE.squareRoot()) }
            XCTAssertEqual(errors.latentMSE, 0)
        }
        let (latent, reconstructed) = try net.autoencode(particles: data)
        XCTAssertEqual(latent.count, 16 * 2)
        let error = rms(reconstructed, data)
        XCTAssertLessThan(last, first)
        XCTAssertLessThan(error, 0.1 * spread, "reconstruction RMSE \(error) against a spread of \(spread); RMSE every 100 steps \(trace)")
    }

    func test_phases_trainOnlyTheirParts_andTFlankLossFalls() throws {
        let images = TinyRegression(batch: 2, seed: 3)
        var particles = [Float](repeating: 0, count: 60)
        for s in 0..<2 {
            for r in 0..<30 { particles[s * 30 + r] = images.targets[s * 2 + r % 2] * Float(r + 1) / 10 + 2 }
        }
        let net = try TLDeepSSMNetwork(inputShape: TinyRegression.shape, particleValues: 30, latentSize: 2, seed: 2,
                                       learningRate: 1e-3)
        let imageBefore = try tensors(net, prefix: "ImageEncoder.")
        for _ in 0..<5 { _ = try net.trainBatch(.autoencoder, images: [], particles: particles) }
        XCTAssertEqual(try tensors(net, prefix: "ImageEncoder."), imageBefore, "the autoencoder phase leaves the image encoder")
        XCTAssertFalse(try net.stateDict().contains { $0.name.hasPrefix("optimizer/ImageEncoder.") })

        let encoderBefore = try tensors(net, prefix: "Correspondence")
        var losses: [Double] = []
        for _ in 0..<8 {
            let errors = try net.trainBatch(.tflank, images: images.images, particles: particles)
            XCTAssertEqual(errors.particleMSE, 0)
            losses.append(errors.latentMSE)
        }
        XCTAssertLessThan(losses.suffix(2).reduce(0, +) / 2, losses[0], "T-flank losses \(losses)")
        XCTAssertEqual(try tensors(net, prefix: "Correspondence"), encoderBefore,
                       "the T-flank phase leaves the autoencoder's weights and Adam state")
        XCTAssertNotEqual(try tensors(net, prefix: "ImageEncoder.conv1"), [])

        let joint = try net.trainBatch(.joint, images: images.images, particles: particles, alpha: 1)
        XCTAssertGreaterThan(joint.particleMSE, 0)
        XCTAssertGreaterThan(joint.latentMSE, 0)
        XCTAssertNotEqual(try tensors(net, prefix: "Correspondence"), encoderBefore, "the joint phase trains everything")
        let predicted = try net.predict(images: images.images)
        XCTAssertEqual(predicted.particles.count, 60)
        XCTAssertTrue(predicted.particles.allSatisfy(\.isFinite))
    }

    func test_stateRoundTrip_resumesAsAStraightRun() throws {
        let images = TinyRegression(batch: 2, seed: 4)
        let particles = lowRankParticles(count: 2, seed: 9)
        let straight = try TLDeepSSMNetwork(inputShape: TinyRegression.shape, particleValues: 30, latentSize: 3, seed: 6)
        _ = try straight.trainBatch(.autoencoder, images: [], particles: particles)
        _ = try straight.trainBatch(.tflank, images: images.images, particles: particles)
        let saved = try NetworkCheckpoint(tl: straight, attributes: ["epoch": .int(2)])
        _ = try straight.trainBatch(.joint, images: images.images, particles: particles, alpha: 0.5)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tl-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("tl.h5")
        try saved.write(to: url)
        let read = try NetworkCheckpoint(contentsOf: url)
        XCTAssertTrue(read.isTL)
        XCTAssertEqual(read.particleValues, 30)
        XCTAssertEqual(read.outputCount, 3)
        XCTAssertTrue(read.tensors.contains { $0.name == "CorrespondenceEncoder.fc-en1.weight" && $0.shape == [1024, 30] })
        XCTAssertTrue(read.tensors.contains { $0.name == "CorrespondenceDecoder.fc-de3.weight" && $0.shape == [30, 1024] })
        XCTAssertTrue(read.tensors.contains { $0.name == "ImageEncoder.fc3.weight" && $0.shape == [3, 96] })
        let resumed = try read.makeTLNetwork()
        _ = try resumed.trainBatch(.joint, images: images.images, particles: particles, alpha: 0.5)
        XCTAssertEqual(try resumed.stateDict(), try straight.stateDict())

        XCTAssertThrowsError(try read.makeNetwork()) { error in
            XCTAssertTrue("\(error)".contains("TL-DeepSSM model (variant tl)"), "\(error)")
        }
    }

    func test_badSizes_throwNamingThem() throws {
        XCTAssertThrowsError(try TLDeepSSMNetwork(inputShape: TinyRegression.shape, particleValues: 30, latentSize: 0, seed: 1))
        let net = try TLDeepSSMNetwork(inputShape: TinyRegression.shape, particleValues: 30, latentSize: 2, seed: 1)
        XCTAssertThrowsError(try net.trainBatch(.autoencoder, images: [], particles: [1, 2, 3])) { error in
            XCTAssertTrue("\(error)".contains("not a whole number of shapes of 30 values"), "\(error)")
        }
        XCTAssertThrowsError(try net.trainBatch(.tflank, images: [], particles: [Float](repeating: 0, count: 30))) { error in
            XCTAssertTrue("\(error)".contains("image values do not make 1 volumes"), "\(error)")
        }
    }
}
