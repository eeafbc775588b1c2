import Workflow

extension StageCatalog {
    /// Called after every run (the HTML report, the distance summary), in order.
    public static var finishers: [any RunFinisher] { [RunReportFinisher()] }

    /// Checked before a run computes the stages they concern (the torch device).
    public static var preflights: [any RunPreflight] { [TorchDevicePreflight()] }
}
