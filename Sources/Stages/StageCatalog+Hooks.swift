import Workflow

extension StageCatalog {
    /// Called after every run, in order: the HTML report with the stage table
    /// and the end-of-run distance summary.
    public static var finishers: [any RunFinisher] { [RunReportFinisher()] }
}
