import Foundation

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
