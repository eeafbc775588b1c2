import Foundation

/// Something the engine reports while a run goes on.
public enum RunEvent: Sendable {
    case started(stage: String, reasons: [String])
    case progress(stage: String, done: Int, total: Int, message: String)
    case log(stage: String, line: String)
    /// Another run holds the stage's lock; this one waits for it.
    case waiting(stage: String, holder: String)
    case finished(StageRunSummary)
    /// A cache problem that was repaired (a corrupt object removed), or a finisher's warning.
    case warning(String)
    /// Lines a run finisher returned.
    case note(String)
}

/// Receives run events; called from several tasks at once.
public typealias RunObserver = @Sendable (RunEvent) -> Void
