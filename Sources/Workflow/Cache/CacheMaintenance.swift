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
        if byStage.count == 1 {
            switch store.lookupRecord(byStage[0].key) {
            case .found(let record): return record
            case .unreadable(let why):
                throw CacheError("the record of stage '\(reference)' (\(byStage[0].key.prefix(12))) is unreadable (\(why)); run the workflow again to recompute it, or 'ssmflow cache verify --repair' to remove it")
            case .absent: break
            }
        }
        if byStage.count > 1 {
            throw CacheError("stage '\(reference)' has results in several workflows (\(byStage.map(\.workflow).joined(separator: ", "))); write WORKFLOW/STAGE", invalidInput: true)
        }
        let keys = store.allRecordKeys().filter { $0.hasPrefix(reference.lowercased()) }
        if keys.count == 1, let record = store.record(keys[0]) { return record }
        if keys.count > 1 { throw CacheError("key prefix '\(reference)' matches \(keys.count) records; give more characters", invalidInput: true) }
        let stages = Array(Set(refs.map(\.stage))).sorted()
        throw CacheError("no cached stage or record '\(reference)'\(didYouMean(reference, among: stages)); 'ssmflow cache ls' lists them", invalidInput: true)
    }

    /// A problem found by `verify`.
    public struct Problem: Sendable, CustomStringConvertible {
        public var record: String
        public var stage: String
        public var output: String
        public var verification: CacheStore.Verification
        public var description: String {
            if stage == "record" || stage == "memo", case .corrupt(let why) = verification, why.contains("unreadable") {
                return "\(stage) \(record.prefix(12)): \(why)"
            }
            switch verification {
            case .ok: return "\(stage).\(output): ok"
            case .missing: return "\(stage).\(output) (record \(record.prefix(12))): object missing"
            case .corrupt(let why): return "\(stage).\(output) (record \(record.prefix(12))): corrupt, \(why)"
            }
        }
    }

    /// Rehashes every object of every record and memo, and reads every record.
    /// Reports only, unless `repair`: then corrupt objects, unreadable records
    /// and the records that use a bad object are removed (the next run
    /// recomputes them).
    public func verify(repair: Bool) -> (checked: Int, problems: [Problem]) {
        var problems: [Problem] = []
        var checked = 0
        var verdicts: [String: CacheStore.Verification] = [:]
        for key in store.allRecordKeys() {
            let record: StageRecord
            switch store.lookupRecord(key) {
            case .absent: continue  // removed meanwhile
            case .unreadable(let why):
                problems.append(Problem(record: key, stage: "record", output: String(key.prefix(12)), verification: .corrupt("unreadable, \(why)")))
                if repair { store.removeRecord(key) }
                continue
            case .found(let found): record = found
            }
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
            guard let memo = store.memoRecord(key) else {
                if FileManager.default.fileExists(atPath: store.memoURL(key).path) {
                    problems.append(Problem(record: key, stage: "memo", output: String(key.prefix(12)), verification: .corrupt("memo record unreadable")))
                    if repair { store.removeMemo(key) }
                }
                continue
            }
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
        /// Live runs whose leases limited the collection (see `CacheLease`).
        public var liveRuns: [String] = []
        /// Locks and leases whose holder is dead.
        public var staleLocks: [URL] = []
    }

    /// Keeps the latest record of every stage, the records of the last
    /// `keepLast` runs, the memos they used and every object those reference;
    /// removes the rest, and work directories of dead processes. Beside live
    /// runs (leases) it follows `CacheLease`'s rule: no record or memo is
    /// removed, only unreferenced objects older than the oldest lease. Throws
    /// when another gc is running.
    public func collect(keepLast: Int, dryRun: Bool, staleAfter: TimeInterval = 60) throws -> Collection {
        var gcLock: CacheLock?
        if !dryRun {
            var holder: CacheLock.Holder?
            gcLock = try CacheLock.tryAcquire(key: CacheLease.gcLockKey, in: store.locksDirectory, staleAfter: staleAfter, holder: &holder)
            guard gcLock != nil else {
                throw CacheError("another 'ssmflow cache gc' is running on '\(store.root.path)' (\(holder?.description ?? "unknown holder")); wait for it to finish")
            }
        }
        defer { gcLock?.release() }
        // Leases are read after the gc lock is held: a run that starts later
        // waits for this gc to end before it reads anything.
        let leases = CacheLease.live(in: store, staleAfter: staleAfter)
        var result = Collection()
        result.liveRuns = leases.map(\.description)
        let cutoff = leases.map(\.since.timeIntervalSince1970).min().map { $0 - staleAfter }

        var keep = Set(store.allRefs().map(\.key))
        for run in RunHistory(store: store).all().suffix(max(0, keepLast)) {
            for stage in run.stages { if let key = stage.key { keep.insert(key) } }
        }
        var liveObjects = Set<String>()
        var liveMemos = Set<String>()
        for key in store.allRecordKeys() {
            guard let record = store.record(key) else {
                // Unreadable: 'cache verify --repair' removes it, not gc.
                continue
            }
            if keep.contains(key) || cutoff != nil {
                for artifact in record.outputs.values { liveObjects.insert(artifact.digest.hex) }
                liveMemos.formUnion(record.memos)
            } else {
                result.records.append(key)
            }
        }
        for key in store.allMemoKeys() {
            let memo = store.memoRecord(key)
            if (liveMemos.contains(key) || cutoff != nil), let memo { liveObjects.insert(memo.artifact.digest.hex) }
            else if cutoff == nil { result.memos.append(key) }
        }
        let objectsDir = store.root.appendingPathComponent("objects")
        for shard in ((try? FileManager.default.contentsOfDirectory(atPath: objectsDir.path)) ?? []).sorted() {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: objectsDir.appendingPathComponent(shard).path)) ?? []).sorted()
            where !liveObjects.contains(name) {
                let url = objectsDir.appendingPathComponent("\(shard)/\(name)")
                // Beside live runs: an object newer than the oldest lease may be
                // one a run is about to commit a record for.
                if let cutoff, Self.changeTime(url).map({ $0 >= cutoff }) ?? true { continue }
                result.objects.append(name)
                result.bytes += (try? ArtifactDigest.of(url).size) ?? 0
            }
        }
        let tmp = store.root.appendingPathComponent("tmp")
        let here = safeName(hostName())
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] {
            // `<pid>@<host>-...`; older caches wrote `<pid>-...` (this host).
            let owner = name.split(separator: "-", maxSplits: 1).first.map(String.init) ?? ""
            let parts = owner.split(separator: "@", maxSplits: 1).map(String.init)
            guard let pid = Int32(parts.first ?? ""), parts.count == 1 || parts[1] == here else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { result.workDirectories.append(name) }
        }
        // Locks and leases of dead holders (a killed run): the next taker would
        // break them anyway; gc tidies them.
        for directory in [store.locksDirectory, store.leasesDirectory] {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
            where name.hasSuffix(".lock") && !name.hasPrefix(".") && name != "\(CacheLease.gcLockKey).lock" {
                let url = directory.appendingPathComponent(name)
                if let holder = CacheLock.readHolder(url), CacheLock.isStale(url, holder: holder, staleAfter: staleAfter) {
                    result.staleLocks.append(url)
                }
            }
        }
        guard !dryRun else { return result }
        for url in result.staleLocks { CacheLock.breakLock(url) }
        for key in result.records { store.removeRecord(key) }
        for key in result.memos { store.removeMemo(key) }
        for digest in result.objects { store.removeObject(digest) }
        for name in result.workDirectories { try? store.removeTree(tmp.appendingPathComponent(name)) }
        return result
    }

    /// Seconds since 1970 of the last status change (ctime) of `url`: when an
    /// object was moved into the store.
    static func changeTime(_ url: URL) -> Double? {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { return nil }
        return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
    }

    static func corruptExport(_ name: String, _ artifact: StoredArtifact, actual: String) -> String {
        "the cached object of '\(name)' (\(artifact.digest.hex.prefix(12))) is corrupt: its content hashes to \(actual.prefix(12)); nothing was exported; run 'ssmflow cache verify --repair', then run the workflow again to recompute it"
    }

    /// Copies an artifact out of the cache as ordinary, writable files.
    public func export(_ artifact: StoredArtifact, named name: String, to directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let target = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: target.path) {
            throw CacheError("'\(target.path)' already exists; remove it or export to another directory", invalidInput: true)
        }
        try FileManager.default.copyItem(at: store.objectURL(artifact.digest.hex), to: target)
        // What leaves the cache is checked: the copy is hashed and must have the
        // recorded digest (a flipped byte under an unchanged signature is caught).
        let copied = try ArtifactDigest.of(target)
        if copied.hex != artifact.digest.hex {
            try? store.removeTree(target)
            throw CacheError(Self.corruptExport(name, artifact, actual: copied.hex))
        }
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
