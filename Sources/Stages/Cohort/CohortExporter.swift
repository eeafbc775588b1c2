import Foundation
import Workflow

/// `ssmflow cache export femur-cohort.cohort DIR` (also `shapeworks-femur.cohort`,
/// `split.train`, `split.test`): a cohort artifact in ShapeWorks' femur layout
/// (`groomed/images/`, `groomed/distance_transforms/`,
/// `shape_models/femur/<M>/`, ...), through `ShapeWorksFemurLayout.export`.
public struct CohortExporter: ArtifactExporter {
    /// The (stage kind, output) pairs that hold a cohort artifact.
    static let cohortOutputs: Set<[String]> = [
        [FemurCohort.kind, "cohort"], [ShapeWorksFemur.kind, "cohort"], [Split.kind, "train"], [Split.kind, "test"],
    ]

    public init() {}

    public func handles(_ request: ArtifactExportRequest) -> Bool {
        Self.cohortOutputs.contains([request.kind, request.output])
    }

    public func export(_ request: ArtifactExportRequest, to directory: URL) throws {
        try ShapeWorksFemurLayout.export(try Cohort(directory: request.url), to: directory)
    }
}
