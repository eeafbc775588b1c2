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

    func test_deterministic_canBeToggled() throws {
        try Torch.setDeterministic(true)
        try Torch.setDeterministic(false)
    }
}
