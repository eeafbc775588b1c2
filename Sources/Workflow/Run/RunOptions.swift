import Foundation

/// Which stages a run covers and which it must recompute.
public struct RunOptions: Sendable {
    /// Run this stage and what it needs, nothing downstream.
    public var until: String?
    /// Run only this stage; what it reads must be cached.
    public var only: String?
    /// Recompute these stages even when cached.
    public var force: Set<String>
    public var forceAll: Bool
    /// Stages run at once.
    public var jobs: Int
    /// Re-hash every cached output instead of trusting unchanged file signatures.
    public var verifyFully: Bool

    public init(until: String? = nil, only: String? = nil, force: Set<String> = [], forceAll: Bool = false,
                jobs: Int = 1, verifyFully: Bool = false) {
        self.until = until
        self.only = only
        self.force = force
        self.forceAll = forceAll
        self.jobs = max(1, jobs)
        self.verifyFully = verifyFully
    }

    /// Why a stage these options leave out is not run.
    var outsideSelection: RerunReason {
        only.map { .outsideSelection(flag: "--only", stage: $0) } ?? .outsideSelection(flag: "--until", stage: until ?? "")
    }
}
