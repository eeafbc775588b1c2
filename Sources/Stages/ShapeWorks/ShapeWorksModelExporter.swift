import Foundation
import Workflow

/// `ssmflow cache export deepssm-train.model DIR`: the trained model in
/// ShapeWorks' DeepSSM layout (`ShapeWorksModelExport`), with the PCA model the
/// record's stage read (its `pca` input). `--raw` copies our own files instead.
public struct ShapeWorksModelExporter: ArtifactExporter {
    public init() {}

    public func handles(_ request: ArtifactExportRequest) -> Bool {
        request.kind == DeepSSMTrain.kind && request.output == "model"
    }

    public func export(_ request: ArtifactExportRequest, to directory: URL) throws {
        guard let pca = request.inputs["pca"] else {
            throw StageFailure("stage '\(request.stage)' read no 'pca' input, which the ShapeWorks model needs for its decoder; connect augment.pca to it and run again, or export with --raw")
        }
        guard FileManager.default.fileExists(atPath: pca.path) else {
            throw StageFailure("the PCA model that stage '\(request.stage)' was trained with (object \(pca.lastPathComponent.prefix(12))) is no longer in the cache; run the workflow again, then export")
        }
        try ShapeWorksModelExport.write(model: request.url, pca: pca, to: directory)
    }
}
