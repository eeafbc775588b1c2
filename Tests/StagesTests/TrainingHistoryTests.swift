import Foundation
import XCTest
@testable import Stages

final class TrainingHistoryTests: XCTestCase {
    private func row(_ epoch: Int, val: Double?) -> TrainingEpoch {
        TrainingEpoch(epoch: epoch, learningRate: 1e-4, trainError: 1 / Double(epoch), trainRelativeError: 0.5,
                      valError: val.map { $0 * 2 }, valRelativeError: val, seconds: 1.25)
    }

    func test_bestEpoch_lowestValidationRelativeError_earliestOnTies_skipsUnvalidated() {
        let history = TrainingHistory(epochs: [row(1, val: 0.4), row(2, val: nil), row(3, val: 0.2), row(4, val: 0.2)])
        XCTAssertEqual(history.bestEpoch?.epoch, 3)
        XCTAssertNil(TrainingHistory(epochs: [row(1, val: nil)]).bestEpoch)
    }

    func test_csv_leavesValidationCellsEmptyWhenNotValidated() {
        let csv = TrainingHistory(epochs: [row(1, val: nil), row(2, val: 0.25)]).csv
        XCTAssertEqual(csv, """
            epoch,lr,train_error,train_rel_error,val_error,val_rel_error,seconds
            1,0.0001,1,0.5,,,1.250
            2,0.0001,0.5,0.5,0.5,0.25,1.250

            """)
    }

    func test_plot_singleEpoch_writesPNG() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("curve-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try TrainingHistory(epochs: [row(1, val: 0.3)]).plot(to: url, logScale: true)
        XCTAssertEqual(Array(try Data(contentsOf: url).prefix(4)), [0x89, 0x50, 0x4E, 0x47])
    }
}
