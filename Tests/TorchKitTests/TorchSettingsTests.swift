import XCTest
@testable import TorchKit

final class TorchSettingsTests: XCTestCase {
    func test_resolve_cudaWithoutCUDA_throwsSayingWhy() throws {
        try XCTSkipIf(Torch.cudaDeviceCount > 0, "a CUDA device is present")
        XCTAssertThrowsError(try Torch.resolve(.cuda)) { error in
            let message = (error as? TorchError)?.message ?? ""
            XCTAssertTrue(message.contains("device 'cuda' was requested"), message)
            XCTAssertTrue(message.contains("use device 'cpu'"), message)
        }
        XCTAssertEqual(try Torch.resolve(.auto), .cpu)
        XCTAssertThrowsError(try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1,
                                                device: .cuda))
    }

    func test_rngState_restore_repeatsTheSameDraws() throws {
        try Torch.manualSeed(42)
        let saved = try Torch.rngState()
        XCTAssertFalse(saved.isEmpty)
        try Torch.manualSeed(43)
        XCTAssertNotEqual(try Torch.rngState(), saved)
        try Torch.setRNGState(saved)
        XCTAssertEqual(try Torch.rngState(), saved)
    }

    func test_threads_setAndRead() throws {
        let before = Torch.threads
        try Torch.setThreads(1)
        XCTAssertEqual(Torch.threads, 1)
        XCTAssertThrowsError(try Torch.setThreads(0))
        try Torch.setThreads(before)
    }

    func test_deterministicMode_sameSeedAndData_giveIdenticalWeights() throws {
        try Torch.setDeterministic(true)
        defer { try? Torch.setDeterministic(false) }
        let data = TinyRegression(batch: 2, seed: 2)
        func trained() throws -> [StateTensor] {
            let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 8, learningRate: 1e-3)
            for _ in 0..<2 {
                _ = try net.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets)
            }
            return try net.stateDict()
        }
        XCTAssertEqual(try trained(), try trained())
    }
}
