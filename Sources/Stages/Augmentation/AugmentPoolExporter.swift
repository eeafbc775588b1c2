import Foundation
import Workflow

/// `ssmflow cache export augment.pool DIR`: the training pool in the
/// reference's folder layout (`Generated-Images/*.nrrd`,
/// `Generated-Particles/*.particles`, `PCA_Particle_Info/`, `TotalData.csv`),
/// written by `ReferenceAugmentationLayout.writeReferenceLayout` from the pool and the same
/// record's `pca` output.
public struct AugmentPoolExporter: ArtifactExporter {
    public init() {}

    public func handles(_ request: ArtifactExportRequest) -> Bool {
        request.kind == Augment.kind && request.output == "pool"
    }

    public func export(_ request: ArtifactExportRequest, to directory: URL) throws {
        guard let pca = request.outputs["pca"] else {
            throw StageFailure("the record of stage '\(request.stage)' has no 'pca' output to export with its pool; run the workflow again")
        }
        try ReferenceAugmentationLayout.writeReferenceLayout(pool: request.url, pca: pca, to: directory)
    }
}
