import Foundation

/// Where something is in a workflow file (1-based line and column).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem with a workflow: where, what, and the fix.
public struct SpecIssue: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation?
    /// A lowercase sentence naming the problem and its remedy.
    public var message: String

    public init(_ location: SourceLocation?, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String {
        location.map { "\($0): error: \(message)" } ?? "error: \(message)"
    }
}

/// An invalid workflow: every problem found, reported at once.
public struct SpecError: Error, Sendable, CustomStringConvertible {
    public var issues: [SpecIssue]

    public init(_ issues: [SpecIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// A problem with the cache directory or an object in it.
public struct CacheError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The request names something the cache cannot serve as asked (no such
    /// stage or output, an export target that is a file): exit 2, not a fault.
    public var isInvalidInput: Bool
    public init(_ message: String, invalidInput: Bool = false) {
        self.message = message
        self.isInvalidInput = invalidInput
    }
    public var description: String { message }
}

/// A request that does not fit the workflow (an unknown `--only` stage, an
/// upstream result that `--only` needs but the cache lacks).
public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Closest candidates to `name` for a "did you mean" hint: a candidate that has
/// `name` as one of its '-'/'_'-separated words (`train` → `deepssm-train`),
/// else the nearest by edit distance (≤ 1/3 of the length, at least 2).
func suggestion(for name: String, among candidates: [String]) -> String? {
    let lowered = name.lowercased()
    let byWord = candidates.filter { candidate in
        candidate.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" }).contains { $0 == lowered[...] }
    }
    if byWord.count == 1 { return byWord[0] }
    let limit = max(2, name.count / 3)
    let scored = candidates.map { ($0, editDistance(name, $0)) }.filter { $0.1 <= limit }
    return scored.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }?.0
}

/// " did you mean 'x'?" or "".
func didYouMean(_ name: String, among candidates: [String]) -> String {
    suggestion(for: name, among: candidates).map { "; did you mean '\($0)'?" } ?? ""
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
