import Workflow

extension StageCatalog {
    /// Artifact summarisers for `ssmflow cache show` (e.g. HDF5 arrays), tried in order.
    public static var inspectors: [any ArtifactInspector] { [] }
    /// Called after every run (the HTML report, the distance summary), in order.
    public static var finishers: [any RunFinisher] { [] }
}
