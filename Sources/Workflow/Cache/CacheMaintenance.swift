import Foundation

/// Listing, verifying and collecting the cache (`ssmflow cache ...`).
public struct CacheMaintenance: Sendable {
    public let store: CacheStore

    public init(store: CacheStore) { self.store = store }

    /// One record, summarised.
    public struct Entry: Sendable {
        public var key: String
        public var workflow: String
        public var stage: String
        public var kind: String
        public var size: Int64
        public var startedAt: Date
        public var seconds: Double
        /// Whether a ref points at it (the latest result of its stage).
        public var isLatest: Bool
    }

    /// Every record, newest first.
    public func entries() -> [Entry] {
        let latest = Set(store.allRefs().map(\.key))
        return store.allRecordKeys().compactMap { key -> Entry? in
            guard let r = store.record(key) else { return nil }
            return Entry(key: key, workflow: r.workflow, stage: r.stage, kind: r.manifest.kind,
                         size: r.outputs.values.reduce(0) { $0 + $1.digest.size }, startedAt: r.startedAt,
                         seconds: r.seconds, isLatest: latest.contains(key))
        }.sorted { $0.startedAt > $1.startedAt }
    }

    /// A record by stage id (its latest result; `workflow/stage` when ambiguous)
    /// or by a unique prefix of its key.
    public func findRecord(_ reference: String) throws -> StageRecord {
        let refs = store.allRefs()
        let parts = reference.split(separator: "/").map(String.init)
        let byStage = refs.filter { parts.count == 2 ? ($0.workflow == parts[0] && $0.stage == parts[1]) : $0.stage == reference }
        if byStage.count == 1, let record = store.record(byStage[0].key) { return record }
        if byStage.count > 1 {
            throw CacheError("stage '\(reference)' has results in several workflows (\(byStage.map(\.workflow).joined(separator: ", "))); write WORKFLOW/STAGE")
        }
        let keys = store.allRecordKeys().filter { $0.hasPrefix(reference.lowercased()) }
        if keys.count == 1, let record = store.record(keys[0]) { return record }
        if keys.count > 1 { throw CacheError("key prefix '\(reference)' matches \(keys.count) records; give more characters") }
        let stages = Array(Set(refs.map(\.stage))).sorted()
        throw CacheError("no cached stage or record '\(reference)'\(didYouMean(reference, among: stages)); 'ssmflow cache ls' lists them")
    }

    /// A problem found by `verify`.
    public struct Problem: Sendable, CustomStringConvertible {
        public var record: String
        public var stage: String
        public var output: String
        public var verification: CacheStore.Verification
        public var description: String {
            switch verification {
            case .ok: return "\(stage).\(output): ok"
            case .missing: return "\(stage).\(output) (record \(record.prefix(12))): object missing"
            case .corrupt(let why): return "\(stage).\(output) (record \(record.prefix(12))): corrupt, \(why)"
            }
        }
    }

    /// Rehashes every object of every record and memo. With `repair`, corrupt
    /// objects and the records that use them are removed (the next run recomputes them).
    public func verify(repair: Bool) -> (checked: Int, problems: [Problem]) {
        var problems: [Problem] = []
        var checked = 0
        var verdicts: [String: CacheStore.Verification] = [:]
        for key in store.allRecordKeys() {
            guard let record = store.record(key) else { continue }
            var bad = false
            for (name, artifact) in record.outputs.sorted(by: { $0.key < $1.key }) {
                let verdict = verdicts[artifact.digest.hex] ?? store.verify(artifact, full: true)
                verdicts[artifact.digest.hex] = verdict
                checked += 1
                if verdict != .ok {
                    bad = true
                    problems.append(Problem(record: key, stage: record.stage, output: name, verification: verdict))
                    if repair { store.removeObject(artifact.digest.hex) }
                }
            }
            if bad && repair { store.removeRecord(key) }
        }
        for key in store.allMemoKeys() {
            guard let memo = store.memoRecord(key) else { continue }
            let verdict = verdicts[memo.artifact.digest.hex] ?? store.verify(memo.artifact, full: true)
            checked += 1
            if verdict != .ok {
                problems.append(Problem(record: key, stage: "memo", output: memo.item, verification: verdict))
                if repair { store.removeObject(memo.artifact.digest.hex); store.removeMemo(key) }
            }
        }
        return (checked, problems)
    }

    /// What `gc` removed (or would remove, with `dryRun`).
    public struct Collection: Sendable {
        public var records: [String] = []
        public var memos: [String] = []
        public var objects: [String] = []
        public var bytes: Int64 = 0
        public var workDirectories: [String] = []
    }

    /// Keeps the latest record of every stage, the records of the last
    /// `keepLast` runs, the memos they used and every object those reference;
    /// removes the rest, and work directories of dead processes.
    public func collect(keepLast: Int, dryRun: Bool) -> Collection {
        var keep = Set(store.allRefs().map(\.key))
        for run in RunHistory(store: store).all().suffix(max(0, keepLast)) {
            for stage in run.stages { if let key = stage.key { keep.insert(key) } }
        }
        var liveObjects = Set<String>()
        var liveMemos = Set<String>()
        var result = Collection()
        for key in store.allRecordKeys() {
            guard keep.contains(key), let record = store.record(key) else {
                result.records.append(key)
                continue
            }
            for artifact in record.outputs.values { liveObjects.insert(artifact.digest.hex) }
            liveMemos.formUnion(record.memos)
        }
        for key in store.allMemoKeys() {
            if liveMemos.contains(key), let memo = store.memoRecord(key) { liveObjects.insert(memo.artifact.digest.hex) }
            else { result.memos.append(key) }
        }
        let objectsDir = store.root.appendingPathComponent("objects")
        for shard in ((try? FileManager.default.contentsOfDirectory(atPath: objectsDir.path)) ?? []).sorted() {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: objectsDir.appendingPathComponent(shard).path)) ?? []).sorted()
            where !liveObjects.contains(name) {
                result.objects.append(name)
                result.bytes += (try? ArtifactDigest.of(objectsDir.appendingPathComponent("\(shard)/\(name)")).size) ?? 0
            }
        }
        let tmp = store.root.appendingPathComponent("tmp")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] {
            if let pid = Int32(name.split(separator: "-").first ?? ""), kill(pid, 0) != 0, errno == ESRCH {
                result.workDirectories.append(name)
            }
        }
        guard !dryRun else { return result }
        for key in result.records { store.removeRecord(key) }
        for key in result.memos { store.removeMemo(key) }
        for digest in result.objects { store.removeObject(digest) }
        for name in result.workDirectories { try? store.removeTree(tmp.appendingPathComponent(name)) }
        return result
    }

    /// Copies an artifact out of the cache as ordinary, writable files.
    public func export(_ artifact: StoredArtifact, named name: String, to directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let target = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: target.path) {
            throw CacheError("'\(target.path)' already exists; remove it or export to another directory")
        }
        try FileManager.default.copyItem(at: store.objectURL(artifact.digest.hex), to: target)
        // Objects are read-only in the cache; exported copies belong to the user.
        if artifact.digest.isDirectory {
            chmod(target.path, 0o755)
            let enumerator = FileManager.default.enumerator(atPath: target.path)
            while let item = enumerator?.nextObject() as? String {
                var isDir: ObjCBool = false
                let path = target.appendingPathComponent(item).path
                _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
                chmod(path, isDir.boolValue ? 0o755 : 0o644)
            }
        } else {
            chmod(target.path, 0o644)
        }
        return target
    }
}
