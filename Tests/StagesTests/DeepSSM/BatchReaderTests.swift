import Foundation
import HDF5Kit
import XCTest
@testable import Stages

final class BatchReaderTests: XCTestCase {
    private var url: URL!
    private let imageShape = [2, 3, 4]

    /// A split of 11 samples whose every voxel and target encode the sample's position.
    override func setUpWithError() throws {
        let folder = try makeLoaderTestFolder("batch-reader-tests")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        url = folder.appendingPathComponent("train.h5")
        let writer = try SampleStackWriter(creating: url, ids: (0..<11).map { "s\($0)" },
                                           geometry: .init(dims: [4, 3, 2], spacing: [1, 1, 1], origin: [0, 0, 0]))
        try writer.addArray("images", type: .float32, sampleShape: imageShape)
        try writer.addArray("targets", type: .float32, sampleShape: [2])
        for i in 0..<11 {
            try writer.put("images", sample: i, (0..<24).map { Float(i * 100 + $0) })
            try writer.put("targets", sample: i, [Float(i), Float(-i)])
        }
        try writer.finish()
    }

    private func drain(_ epoch: BatchReader.Epoch) throws -> [BatchReader.Batch] {
        var batches: [BatchReader.Batch] = []
        while let batch = try epoch.next() { batches.append(batch) }
        return batches
    }

    func test_epoch_yieldsEverySampleExactlyOnce_lastBatchShort() throws {
        let reader = try BatchReader(url: url, batchSize: 4, shuffle: true, seed: 3)
        let batches = try drain(reader.batches(epoch: 0))
        XCTAssertEqual(batches.map(\.count), [4, 4, 3])
        XCTAssertEqual(batches.flatMap(\.indices).sorted(), Array(0..<11))
        XCTAssertEqual(batches.flatMap(\.indices), reader.order(epoch: 0))
    }

    func test_order_isSeededPerEpoch() throws {
        let reader = try BatchReader(url: url, batchSize: 4, shuffle: true, seed: 3)
        let again = try BatchReader(url: url, batchSize: 4, shuffle: true, seed: 3)
        let other = try BatchReader(url: url, batchSize: 4, shuffle: true, seed: 4)
        XCTAssertEqual(reader.order(epoch: 5), again.order(epoch: 5))
        XCTAssertNotEqual(reader.order(epoch: 0), reader.order(epoch: 1))
        XCTAssertNotEqual(reader.order(epoch: 0), other.order(epoch: 0))
        XCTAssertNotEqual(reader.order(epoch: 0), Array(0..<11))
    }

    func test_withoutShuffle_readsInFileOrder() throws {
        let reader = try BatchReader(url: url, batchSize: 1, shuffle: false)
        XCTAssertEqual(try drain(reader.batches(epoch: 9)).flatMap(\.indices), Array(0..<11))
    }

    func test_batch_isContiguousImagesAndTargetsOfItsSamples() throws {
        let reader = try BatchReader(url: url, batchSize: 3, shuffle: true, seed: 1)
        let batch = try XCTUnwrap(try reader.batches(epoch: 2).next())
        XCTAssertEqual(batch.images.count, 3 * 24)
        XCTAssertEqual(batch.ids, batch.indices.map { "s\($0)" })
        for (slot, index) in batch.indices.enumerated() {
            XCTAssertEqual(Array(batch.images[(slot * 24)..<((slot + 1) * 24)]), (0..<24).map { Float(index * 100 + $0) })
            XCTAssertEqual(Array(batch.targets[(slot * 2)..<((slot + 1) * 2)]), [Float(index), Float(-index)])
        }
        XCTAssertEqual(reader.imageShape, imageShape)
        XCTAssertEqual(reader.numModes, 2)
    }

    func test_resumingMidEpoch_continuesTheSameOrder() throws {
        let reader = try BatchReader(url: url, batchSize: 4, shuffle: true, seed: 3)
        let full = try drain(reader.batches(epoch: 1)).flatMap(\.indices)
        let resumed = try drain(reader.batches(epoch: 1, startingAt: 1)).flatMap(\.indices)
        XCTAssertEqual(resumed, Array(full[4...]))
    }

    func test_droppingAnEpochEarly_stopsWithoutHanging() throws {
        let reader = try BatchReader(url: url, batchSize: 1, shuffle: true, seed: 3, prefetch: 1)
        for _ in 0..<20 {
            let epoch = reader.batches(epoch: 0)
            _ = try epoch.next()
        }
        let epoch = reader.batches(epoch: 0)
        epoch.stop()
        XCTAssertNil(try epoch.next())
    }

    func test_missingFile_failsNamingIt() {
        XCTAssertThrowsError(try BatchReader(url: url.deletingLastPathComponent().appendingPathComponent("val.h5"),
                                             batchSize: 1, shuffle: false)) { error in
            XCTAssertTrue("\(error)".contains("val.h5"), "\(error)")
        }
    }
}
