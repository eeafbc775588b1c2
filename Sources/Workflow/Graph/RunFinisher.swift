import Foundation

/// Called after every run (also after a failed one) with the run record and the
/// cached location of every output that exists; writes extra files (an HTML
/// report, a summary table) into `runDirectory` (`runs/<id>/` in the cache) and
/// returns lines for the terminal. A thrown error is printed as a warning and
/// does not change the run's outcome.
public protocol RunFinisher: Sendable {
    func finish(run: RunRecord, artifacts: [ArtifactAddress: URL], runDirectory: URL) throws -> [String]
}
