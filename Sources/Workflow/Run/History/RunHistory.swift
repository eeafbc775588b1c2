import Foundation

/// The run history in a cache.
public struct RunHistory: Sendable {
    public let store: CacheStore

    public init(store: CacheStore) { self.store = store }

    public func save(_ run: RunRecord) throws {
        try store.writeAtomically(CacheStore.encoder.encode(run), to: directory(of: run.id).appendingPathComponent("run.json"))
    }

    /// `runs/<id>/`, where finishers write their files.
    public func directory(of id: String) -> URL { store.runsDirectory.appendingPathComponent(id) }

    /// Every run, oldest first.
    public func all() -> [RunRecord] {
        let ids = ((try? FileManager.default.contentsOfDirectory(atPath: store.runsDirectory.path)) ?? []).sorted()
        return ids.compactMap(load)
    }

    public func load(_ id: String) -> RunRecord? {
        guard let data = FileManager.default.contents(atPath: directory(of: id).appendingPathComponent("run.json").path) else { return nil }
        return try? CacheStore.decoder.decode(RunRecord.self, from: data)
    }

    /// A run by id, unique id prefix, or `last` / `last~N` (N runs before the last).
    public func find(_ reference: String) throws -> RunRecord {
        let runs = all()
        if reference == "last" || reference.hasPrefix("last~") {
            let back = Int(reference.dropFirst(5)) ?? 0
            guard runs.count > back else { throw CacheError("there is no run '\(reference)': the cache holds \(runs.count) run(s); see 'ssmflow runs'") }
            return runs[runs.count - 1 - back]
        }
        let matches = runs.filter { $0.id.hasPrefix(reference) }
        guard matches.count == 1 else {
            throw CacheError(matches.isEmpty ? "no run '\(reference)' in the cache; see 'ssmflow runs' for ids"
                                             : "run id '\(reference)' is ambiguous (\(matches.count) runs); give more characters")
        }
        return matches[0]
    }
}
