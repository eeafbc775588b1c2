import Foundation
import XCTest
@testable import Stages

final class TrainingHistoryTests: XCTestCase {
    private func row(_ epoch: Int, val: Double?) -> TrainingEpoch {
        TrainingEpoch(epoch: epoch, learningRate: 1e-4, trainError: 1 / Double(epoch), trainRelativeError: 0.5,
                      valError: val.map { $0 * 2 }, valRelativeError: val)
    }

    func test_bestEpoch_lowestValidationRelativeError_earliestOnTies_skipsUnvalidated() {
        let history = TrainingHistory(epochs: [row(1, val: 0.4), row(2, val: nil), row(3, val: 0.2), row(4, val: 0.2)])
        XCTAssertEqual(history.bestEpoch?.epoch, 3)
        XCTAssertNil(TrainingHistory(epochs: [row(1, val: nil)]).bestEpoch)
    }

    func test_csv_leavesValidationCellsEmptyWhenNotValidated() {
        let csv = TrainingHistory(epochs: [row(1, val: nil), row(2, val: 0.25)]).csv
        XCTAssertEqual(csv, """
            epoch,lr,train_error,train_rel_error,val_error,val_rel_error,phase
            1,0.0001,1,0.5,,,train
            2,0.0001,0.5,0.5,0.5,0.25,train

            """)
    }

    func test_csv_listsFineTuningAfterTraining_andBestIsPerPhase() throws {
        let history = TrainingHistory(epochs: [row(1, val: 0.25)], fineTune: [row(1, val: 0.5), row(2, val: 0.125)])
        XCTAssertEqual(history.csv, """
            epoch,lr,train_error,train_rel_error,val_error,val_rel_error,phase
            1,0.0001,1,0.5,0.5,0.25,train
            1,0.0001,1,0.5,1,0.5,fine-tune
            2,0.0001,0.5,0.5,0.25,0.125,fine-tune

            """)
        XCTAssertEqual(history.bestEpoch?.epoch, 1)
        XCTAssertEqual(history.bestFineTuneEpoch?.epoch, 2)
        XCTAssertEqual(history.prefix(through: 1, fineTuneThrough: 1).fineTune.count, 1)
        XCTAssertEqual(history.prefix(through: 1).fineTune, [])
        // A history stored before fine-tuning existed still decodes.
        let old = try JSONDecoder().decode(TrainingHistory.self, from: Data(#"{"epochs": []}"#.utf8))
        XCTAssertEqual(old, TrainingHistory())
        XCTAssertEqual(try JSONDecoder().decode(TrainingHistory.self, from: history.encoded()), history)
    }

    func test_plot_singleEpoch_writesPNG() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("curve-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try TrainingHistory(epochs: [row(1, val: 0.3)]).plot(to: url, logScale: true)
        XCTAssertEqual(Array(try Data(contentsOf: url).prefix(4)), [0x89, 0x50, 0x4E, 0x47])
    }
}
