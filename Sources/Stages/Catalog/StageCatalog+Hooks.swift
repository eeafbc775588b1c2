import Workflow

extension StageCatalog {
    /// Called after every run (the HTML report, the distance summary), in order.
    public static var finishers: [any RunFinisher] { [RunReportFinisher()] }
}
