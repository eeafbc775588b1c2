import Foundation
import Workflow

/// The state of a Slurm job or array task, as `squeue --format=%T` and
/// `sacct --format=State` print it.
public enum SlurmJobState: Sendable, Hashable, CustomStringConvertible {
    case pending, configuring, running, completing, suspended, requeued
    case completed
    case failed, timeout, outOfMemory, cancelled, nodeFail, preempted, bootFail, deadline
    /// A state this code does not know (Slurm adds some now and then), kept verbatim.
    case other(String)

    /// Parses `PENDING`, `OUT_OF_MEMORY`, sacct's `CANCELLED by 0`, or the short
    /// codes (`PD`, `R`, `CD`, `F`, `TO`, `OOM`, `CA`, ...).
    public init(parsing text: String) {
        let word = text.trimmingCharacters(in: .whitespaces)
            .split(separator: " ").first.map(String.init)?.uppercased() ?? ""
        switch word {
        case "PENDING", "PD": self = .pending
        case "CONFIGURING", "CF": self = .configuring
        case "RUNNING", "R": self = .running
        case "COMPLETING", "CG": self = .completing
        case "SUSPENDED", "S", "STOPPED", "ST": self = .suspended
        case "REQUEUED", "RQ", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING": self = .requeued
        case "COMPLETED", "CD": self = .completed
        case "FAILED", "F": self = .failed
        case "TIMEOUT", "TO": self = .timeout
        case "OUT_OF_MEMORY", "OOM": self = .outOfMemory
        case "CANCELLED", "CA": self = .cancelled
        case "NODE_FAIL", "NF": self = .nodeFail
        case "PREEMPTED", "PR": self = .preempted
        case "BOOT_FAIL", "BF": self = .bootFail
        case "DEADLINE", "DL": self = .deadline
        default: self = .other(word)
        }
    }

    /// The job will not change state again.
    public var isFinished: Bool {
        switch self {
        case .pending, .configuring, .running, .completing, .suspended, .requeued: false
        case .completed, .failed, .timeout, .outOfMemory, .cancelled, .nodeFail,
             .preempted, .bootFail, .deadline: true
        case .other: false
        }
    }

    /// The job ran to the end with exit status 0.
    public var isSuccessful: Bool { self == .completed }

    /// The spelling Slurm uses (`OUT_OF_MEMORY`), so users can search its docs.
    public var description: String {
        switch self {
        case .pending: "PENDING"
        case .configuring: "CONFIGURING"
        case .running: "RUNNING"
        case .completing: "COMPLETING"
        case .suspended: "SUSPENDED"
        case .requeued: "REQUEUED"
        case .completed: "COMPLETED"
        case .failed: "FAILED"
        case .timeout: "TIMEOUT"
        case .outOfMemory: "OUT_OF_MEMORY"
        case .cancelled: "CANCELLED"
        case .nodeFail: "NODE_FAIL"
        case .preempted: "PREEMPTED"
        case .bootFail: "BOOT_FAIL"
        case .deadline: "DEADLINE"
        case .other(let word): word
        }
    }

    /// What a user should try when a job ends in this state, or nil.
    public var remedy: String? {
        switch self {
        case .timeout: "raise 'time' in the stage's resources"
        case .outOfMemory: "raise 'mem' in the stage's resources"
        case .nodeFail, .bootFail, .preempted: "the node went away; run the workflow again to resubmit"
        case .cancelled: "it was cancelled (scancel, or the cluster); run the workflow again to resubmit it"
        default: nil
        }
    }
}
