import Foundation
import XCTest
import GeometryKit
@testable import Stages

final class DistanceTableTests: XCTestCase {
    private func table() -> DistanceTable {
        DistanceTable(rows: [
            SubjectDistances(id: "m03_L", predicted: .init(fromFirst: [1, 2], fromSecond: [1, 1]),
                             baseline: .init(fromFirst: [3, 3], fromSecond: [2, 4])),
            SubjectDistances(id: "n12_R", predicted: .init(fromFirst: [2, 2], fromSecond: [2, 2]),
                             baseline: .init(fromFirst: [4, 4], fromSecond: [4, 4])),
        ])
    }

    func test_csv_hasHeaderAndOneRowPerSubjectWithBaseline() {
        let lines = table().csv.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0].split(separator: ",").count, 15)
        XCTAssertTrue(lines[0].hasPrefix("id,mean_surface_distance_mm,rms_mm,average_hausdorff_mm,"))
        XCTAssertTrue(lines[0].contains(",baseline_mean_surface_distance_mm,"))
        // m03_L: means 1.5 and 1 → 1.25; RMS √(7/4); Hausdorff 2 and 1 → 1.5.
        XCTAssertTrue(lines[1].hasPrefix("m03_L,1.2500,1.3229,1.5000,2.0000,1.0000,1.5000,1.0000,3.0000,"), lines[1])
    }

    private func tableWithOracle() -> DistanceTable {
        var t = table()
        t.numModes = 6
        t.rows[0].oracle = .init(fromFirst: [0.5, 0.5], fromSecond: [0.5, 0.5])
        t.rows[0].particles = .init(id: "m03_L", prediction: 2, meanShape: 3, oracle: 1)
        t.rows[1].oracle = .init(fromFirst: [1, 1], fromSecond: [1, 1])
        t.rows[1].particles = .init(id: "n12_R", prediction: 2, meanShape: 5, oracle: 1)
        return t
    }

    func test_withOracle_csvSummaryAndSentenceCarryOracleAndShare() throws {
        let t = tableWithOracle()
        let lines = t.csv.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0].split(separator: ",").count, 1 + 7 * 3 + 4)
        XCTAssertTrue(lines[0].hasSuffix(",particle_rmse_mm,baseline_particle_rmse_mm,oracle_particle_rmse_mm,achievable_gain_share"))
        XCTAssertTrue(lines[1].hasSuffix(",2.0000,3.0000,1.0000,0.5000"), lines[1])
        let o = t.overall
        XCTAssertEqual(o.oracleMeanSurfaceDistance ?? 0, 0.75, accuracy: 1e-12)
        XCTAssertEqual(o.achievableGainShare ?? 0, 2.0 / 3, accuracy: 1e-12)
        XCTAssertTrue(t.sentence().contains("(baseline 3.50 mm, PCA-6 oracle 0.75 mm)"), t.sentence())
        XCTAssertTrue(t.sentence().contains("particle RMSE 2.00 mm (mean shape 4.00 mm, PCA-6 oracle 1.00 mm), achievable gain share 0.67"), t.sentence())
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("summary-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try t.summaryJSON().write(to: url)
        let (read, sentence) = try DistanceTable.read(summary: url)
        XCTAssertEqual(read, t)
        XCTAssertEqual(sentence, t.sentence())
        let readable = t.readableRows
        XCTAssertEqual(readable.header.count, 1 + 9 + 4)
        XCTAssertEqual(readable.rows.last!.last, "0.67")
    }

    func test_overall_averagesOverSubjects() {
        let o = table().overall
        XCTAssertEqual(o.subjects, 2)
        XCTAssertEqual(o.meanSurfaceDistance, (1.25 + 2) / 2, accuracy: 1e-12)
        XCTAssertEqual(o.baselineMeanSurfaceDistance, (3 + 4) / 2, accuracy: 1e-12)
        XCTAssertEqual(o.worstSubject, "n12_R")
    }

    func test_sentence_readsLikeTheUseCasePage() {
        XCTAssertEqual(table().sentence(),
                       "mean surface distance 1.62 mm (baseline 3.50 mm) over 2 test femurs; average Hausdorff "
                       + "distance 1.75 mm (baseline 3.75 mm); RMS 1.66 mm (baseline 3.54 mm); the network "
                       + "removes 54 % of the mean shape's error; worst subject n12_R at 2.00 mm.")
    }

    func test_summaryJSON_isStable() throws {
        XCTAssertEqual(try table().summaryJSON(), try table().summaryJSON())
        let object = try JSONSerialization.jsonObject(with: table().summaryJSON()) as! [String: Any]
        XCTAssertEqual((object["overall"] as! [String: Any])["subjects"] as? Int, 2)
    }
}
