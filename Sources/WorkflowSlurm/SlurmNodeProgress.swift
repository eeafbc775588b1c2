import Foundation
import Workflow

/// A stage's progress as its node last reported it, passed through the shared
/// cache (`slurm/progress/<job id>.json`) to the submitting terminal.
public struct SlurmNodeProgress: Codable, Sendable, Equatable {
    public var done: Int
    public var total: Int
    public var message: String
    public var host: String

    /// The file a job writes: `12.json`, or `13_4.json` for an array task.
    static func url(store: CacheStore, jobID: String) -> URL {
        store.root.appendingPathComponent("slurm/progress/\(jobID).json")
    }

    /// The latest progress written by job `jobID`, or nil before its first report.
    public static func read(store: CacheStore, jobID: String) -> SlurmNodeProgress? {
        guard let data = FileManager.default.contents(atPath: url(store: store, jobID: jobID).path) else { return nil }
        return try? JSONDecoder().decode(SlurmNodeProgress.self, from: data)
    }

    /// The observer `ssmflow exec-stage` adds on a node: writes the stage's
    /// progress at most once per `interval` seconds. Nil outside a Slurm job.
    public static func writer(store: CacheStore, interval: TimeInterval = 1,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> RunObserver? {
        let id: String
        if let array = environment["SLURM_ARRAY_JOB_ID"], let task = environment["SLURM_ARRAY_TASK_ID"] {
            id = "\(array)_\(task)"
        } else if let job = environment["SLURM_JOB_ID"] {
            id = job
        } else {
            return nil
        }
        let target = url(store: store, jobID: id)
        let throttle = Throttle(interval: interval)
        return { event in
            guard case let .progress(_, done, total, message) = event, throttle.allows(final: done >= total) else { return }
            let progress = SlurmNodeProgress(done: done, total: total, message: message, host: hostName())
            // Progress is advisory: a failed write must never fail the stage.
            if let data = try? JSONEncoder().encode(progress) { try? store.writeAtomically(data, to: target) }
        }
    }

    private final class Throttle: @unchecked Sendable {
        let interval: TimeInterval
        private let lock = NSLock()
        private var last = Date.distantPast

        init(interval: TimeInterval) { self.interval = interval }

        func allows(final: Bool) -> Bool {
            lock.withLock {
                guard final || Date().timeIntervalSince(last) >= interval else { return false }
                last = Date()
                return true
            }
        }
    }
}
