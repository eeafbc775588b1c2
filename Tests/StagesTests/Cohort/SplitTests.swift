import Foundation
import GeometryKit
import Workflow
import XCTest
@testable import Stages

final class SplitTests: XCTestCase {
    func test_partition_takesTheFirstByIdForTraining_andTheRestForTest() throws {
        let ids = ["m05_L", "m03_L", "n12_R", "m04_L", "m10_R"]
        let parts = try Split.partition(ids, train: 3, test: 0)
        XCTAssertEqual(parts.train.map { ids[$0] }, ["m03_L", "m04_L", "m05_L"])
        XCTAssertEqual(parts.test.map { ids[$0] }, ["m10_R", "n12_R"])
    }

    func test_partition_withATestCount_leavesTheRestOut() throws {
        let ids = (1...10).map { String(format: "s%02d", $0) }
        let parts = try Split.partition(ids, train: 4, test: 3)
        XCTAssertEqual(parts.train.map { ids[$0] }, ["s01", "s02", "s03", "s04"])
        XCTAssertEqual(parts.test.map { ids[$0] }, ["s05", "s06", "s07"])
    }

    func test_partition_withValidation_takesTheSubjectsBetweenTrainingAndTest() throws {
        let ids = (1...10).map { String(format: "s%02d", $0) }.reversed().map { $0 }
        let parts = try Split.partition(ids, train: 4, validation: 2, test: 3)
        XCTAssertEqual(parts.train.map { ids[$0] }, ["s01", "s02", "s03", "s04"])
        XCTAssertEqual(parts.validation.map { ids[$0] }, ["s05", "s06"])
        XCTAssertEqual(parts.test.map { ids[$0] }, ["s07", "s08", "s09"])
        let rest = try Split.partition(ids, train: 4, validation: 2, test: 0)
        XCTAssertEqual(rest.test.map { ids[$0] }, ["s07", "s08", "s09", "s10"])
        XCTAssertEqual(try Split.partition(ids, train: 4, test: 0).validation, [])
    }

    func test_partition_whenCountsDoNotFit_saysWhatToLower() {
        XCTAssertThrowsError(try Split.partition(["a", "b", "c"], train: 3, test: 0)) {
            XCTAssertEqual("\($0)", "cannot split 3 subjects into 3 for training and the rest for testing; lower 'train' so that training and testing get at least one subject each and all together at most 3")
        }
        XCTAssertThrowsError(try Split.partition(["a", "b", "c"], train: 2, test: 2)) {
            XCTAssertEqual("\($0)", "cannot split 3 subjects into 2 for training and 2 for testing; lower 'train' or 'test' so that training and testing get at least one subject each and all together at most 3")
        }
        XCTAssertThrowsError(try Split.partition(["a", "b", "c"], train: 1, validation: 2, test: 0)) {
            XCTAssertEqual("\($0)", "cannot split 3 subjects into 1 for training, 2 for validation and the rest for testing; lower 'train' or 'validation' so that training and testing get at least one subject each and all together at most 3")
        }
    }

    func test_params_rejectNonPositiveTrain() {
        var p = Split.Params()
        p.train = 0
        p.validation = -1
        p.test = -1
        XCTAssertEqual(p.validate().map(\.parameter), ["train", "validation", "test"])
    }

    func test_copy_writesCohortsWithTheChosenSubjects() throws {
        let cohort = try CohortFixture.cohort(self, subjects: 3)
        let dir = cohort.directory.deletingLastPathComponent()
        let parts = try Split.partition(cohort.ids, train: 2, test: 0)
        try Split.copy(cohort, subjects: parts.train, to: dir.appendingPathComponent("train"))
        try Split.copy(cohort, subjects: parts.test, to: dir.appendingPathComponent("test"))
        let train = try Cohort(directory: dir.appendingPathComponent("train"))
        let test = try Cohort(directory: dir.appendingPathComponent("test"))
        XCTAssertEqual(train.ids, Array(cohort.ids.prefix(2)))
        XCTAssertEqual(test.ids, [cohort.ids[2]])
        XCTAssertEqual(test.grid, cohort.grid)
        XCTAssertEqual(try test.image(0).voxels, try cohort.image(2).voxels)
        XCTAssertEqual(try test.segmentation(0).voxels, try cohort.segmentation(2).voxels)
        XCTAssertEqual(try test.worldParticles(0), try cohort.worldParticles(2))
        XCTAssertEqual(try test.mesh(0).points.count, try cohort.mesh(2).points.count)
        XCTAssertEqual(try train.meanParticles(), try cohort.meanParticles())
    }
}
