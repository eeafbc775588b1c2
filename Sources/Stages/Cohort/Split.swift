import Foundation
import GeometryKit
import Workflow

/// Stage `split`: the first `train` subjects by id go to training (and
/// augmentation), the next `validation` (default none) validate the network
/// on real images, the next `test` (default: all the rest) are held out, as the
/// reference does with its sorted file lists. The outputs are cohorts (the
/// validation cohort is empty when `validation` is 0); they keep the input's
/// grid and its mean shape.
public struct Split: Stage {
    public static let kind = "split"
    public static let version = 2
    public static let summary = "split a cohort by sorted id into training and held-out test cohorts"
    public static let inputs: [Workflow.Port] = [Workflow.Port("cohort", "cohort to split")]
    public static let outputs: [Workflow.Port] = [
        Workflow.Port("train", "the first `train` subjects by id"),
        Workflow.Port("validation", "the next `validation` subjects by id (empty when 0)"),
        Workflow.Port("test", "the next `test` subjects by id"),
    ]

    public struct Params: StageParameters, Equatable {
        /// Subjects for training, the first by id.
        public var train = 40
        /// Real subjects after them that validate the network (ShapeWorks'
        /// current use case: 5); 0 validates on part of the augmented pool.
        public var validation = 0
        /// Held-out subjects after those; 0 takes all the rest.
        public var test = 0

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if train < 1 { issues.append(.init("train", "must be at least 1, got \(train)")) }
            if validation < 0 { issues.append(.init("validation", "must be 0 (validate on the augmented pool) or more, got \(validation)")) }
            if test < 0 { issues.append(.init("test", "must be 0 (all the rest) or more, got \(test)")) }
            return issues
        }
    }

    public init() {}

    /// Indices (into `ids`) of the training, validation and test subjects: sorted
    /// by id, then the first `train`, the next `validation` and the next `test`
    /// (0: the rest). Throws when they do not fit.
    public static func partition(_ ids: [String], train: Int, validation: Int = 0, test: Int)
        throws -> (train: [Int], validation: [Int], test: [Int]) {
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        let heldOut = test == 0 ? order.count - train - validation : test
        guard train >= 1, validation >= 0, heldOut >= 1, train + validation + heldOut <= order.count else {
            let parts = "\(train) for training\(validation > 0 ? ", \(validation) for validation" : "") and \(test == 0 ? "the rest" : String(test)) for testing"
            let names = ["'train'"] + (validation > 0 ? ["'validation'"] : []) + (test > 0 ? ["'test'"] : [])
            let lower = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " or " + names.last!
            throw StageFailure("cannot split \(order.count) subjects into \(parts); lower \(lower) so that training and testing get at least one subject each and all together at most \(order.count)")
        }
        let split = train + validation
        return (Array(order[0..<train]), Array(order[train..<split]), Array(order[split..<(split + heldOut)]))
    }

    public func run(_ params: Params, context: StageContext) async throws {
        let cohort = try Cohort(directory: try context.input("cohort"))
        let parts = try Self.partition(cohort.ids, train: params.train, validation: params.validation, test: params.test)
        context.log("train: \(parts.train.count) subjects, validation: \(parts.validation.count), test: \(parts.test.count) of \(cohort.count)")
        let total = parts.train.count + parts.validation.count + parts.test.count
        var done = 0
        for (name, indices) in [("train", parts.train), ("validation", parts.validation), ("test", parts.test)] {
            try context.checkCancellation()
            try Self.copy(cohort, subjects: indices, to: context.outputURL(name)) {
                done += 1
                context.progress(done, of: total, "subjects")
            }
        }
    }

    /// Writes the subjects at `indices` of `cohort` (in that order) as a new cohort.
    public static func copy(_ cohort: Cohort, subjects indices: [Int], to directory: URL,
                            progress: () -> Void = {}) throws {
        let metadata = try cohort.metadata()
        let writer = try CohortWriter(directory: directory, ids: indices.map { cohort.ids[$0] }, grid: cohort.grid,
                                      numParticles: cohort.numParticles, source: metadata.source)
        for (k, i) in indices.enumerated() {
            let segmentation = try cohort.segmentation(i).voxels.map { $0 > 0.5 ? UInt8(1) : 0 }
            try writer.add(k, image: try cohort.image(i), segmentation: segmentation,
                           distance: try cohort.distanceTransform(i), local: try cohort.localParticles(i),
                           world: try cohort.worldParticles(i), mesh: try cohort.mesh(i))
            progress()
        }
        try writer.finish(meanMesh: try cohort.meanMesh(), meanParticles: try cohort.meanParticles())
    }
}
