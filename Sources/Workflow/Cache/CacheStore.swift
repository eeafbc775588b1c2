import Foundation

/// The cache directory:
///
///     objects/ab/<digest>      content-addressed outputs (files or directories), read-only
///     records/ab/<key>.json    one record per stage key, the commit marker
///     memo/ab/<key>.json       memo slot records (objects live in objects/)
///     refs/<workflow>/<stage>  the key last committed for a stage of a workflow
///     runs/<id>/run.json       run history
///     locks/<key>.lock         per-key locks (host, pid, heartbeat)
///     leases/run-*.lock        one per live run, honoured by gc (see CacheLease)
///     tmp/                     stage work directories; never read as results
///
/// Every write is temp file + fsync + rename, so a reader sees a whole file or
/// none; a record is written only after all its objects are in place.
public final class CacheStore: Sendable {
    public let root: URL

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        for sub in ["objects", "records", "memo", "refs", "runs", "locks", "leases", "tmp"] {
            do {
                try FileManager.default.createDirectory(at: self.root.appendingPathComponent(sub), withIntermediateDirectories: true)
            } catch {
                throw CacheError("cannot create cache directory '\(self.root.path)/\(sub)': \(error.localizedDescription); choose a writable --cache-dir")
            }
        }
    }

    // MARK: paths

    public func objectURL(_ digest: String) -> URL {
        root.appendingPathComponent("objects/\(digest.prefix(2))/\(digest)")
    }

    public func recordURL(_ key: String) -> URL {
        root.appendingPathComponent("records/\(key.prefix(2))/\(key).json")
    }

    func memoURL(_ key: String) -> URL {
        root.appendingPathComponent("memo/\(key.prefix(2))/\(key).json")
    }

    func refURL(workflow: String, stage: String) -> URL {
        root.appendingPathComponent("refs/\(safeName(workflow))/\(safeName(stage)).json")
    }

    public var runsDirectory: URL { root.appendingPathComponent("runs") }
    public var locksDirectory: URL { root.appendingPathComponent("locks") }
    public var leasesDirectory: URL { root.appendingPathComponent("leases") }

    /// A fresh work directory under `tmp/`, named after this process and host
    /// (`<pid>@<host>-<label>-<id>`) so `gc` can tell abandoned ones (a dead pid
    /// of its own host) from live ones.
    public func makeWorkDirectory(_ label: String) throws -> URL {
        let url = root.appendingPathComponent("tmp/\(getpid())@\(safeName(hostName()))-\(safeName(label))-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: objects

    /// Moves the file or directory at `url` into the object store (or drops it
    /// when an identical object exists) and returns what was stored.
    public func store(_ url: URL) throws -> StoredArtifact {
        let digest = try ArtifactDigest.of(url)
        let target = objectURL(digest.hex)
        let fm = FileManager.default
        if fm.fileExists(atPath: target.path) {
            if case .ok = verify(StoredArtifact(digest: digest, signature: ""), full: false) {
                try? removeTree(url)
                return StoredArtifact(digest: digest, signature: signature(of: target))
            }
            try removeTree(target)
        }
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try syncTree(url)
        try makeReadOnly(url)
        if rename(url.path, target.path) != 0 {
            let err = errno
            if fm.fileExists(atPath: target.path) {
                // A concurrent writer stored the same content first.
                try? removeTree(url)
            } else if err == EXDEV {
                try fm.copyItem(at: url, to: target)
                try? removeTree(url)
            } else {
                throw CacheError("cannot move '\(url.path)' into the cache at '\(target.path)': \(String(cString: strerror(err)))")
            }
        }
        return StoredArtifact(digest: digest, signature: signature(of: target))
    }

    /// The outcome of checking a stored object.
    public enum Verification: Equatable, Sendable {
        case ok
        case missing
        case corrupt(String)
    }

    /// Checks existence, size and digest. With `full: false` an object whose
    /// file-system signature matches the one recorded skips rehashing.
    public func verify(_ artifact: StoredArtifact, full: Bool) -> Verification {
        let url = objectURL(artifact.digest.hex)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return .missing }
        guard isDirectory.boolValue == artifact.digest.isDirectory else { return .corrupt("is a \(isDirectory.boolValue ? "directory" : "file") but was stored as a \(artifact.digest.isDirectory ? "directory" : "file")") }
        if !full, !artifact.signature.isEmpty, signature(of: url, like: artifact.signature) == artifact.signature { return .ok }
        guard let actual = try? ArtifactDigest.of(url) else { return .corrupt("unreadable") }
        if actual.size != artifact.digest.size { return .corrupt("size \(actual.size) bytes, expected \(artifact.digest.size)") }
        if actual.hex != artifact.digest.hex { return .corrupt("digest \(actual.hex.prefix(12)), expected \(artifact.digest.hex.prefix(12))") }
        return .ok
    }

    /// Deletes an object (a corrupt one, or garbage).
    public func removeObject(_ digest: String) {
        try? removeTree(objectURL(digest))
    }

    /// Inode, mtime, ctime and size of every file of a stored object, hashed
    /// (`c:` + hex). The signature is trusted instead of a rehash when it is
    /// unchanged. The ctime is in it because no user tool can set it back:
    /// writing to a file, even with its mtime restored afterwards (`touch -r`),
    /// changes its ctime, so such an object is rehashed. Signatures from older
    /// caches (no `c:`) are compared without the ctime. `run --verify` rehashes
    /// every object; `cache export` always does.
    func signature(of url: URL, like recorded: String? = nil) -> String {
        let withCTime = recorded.map { $0.hasPrefix("c:") } ?? true
        let hasher = SHA256Hasher()
        func add(_ path: String, _ relative: String) {
            var info = stat()
            if stat(path, &info) == 0 {
                let ctime = withCTime ? ":\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)" : ""
                hasher.update("\(relative)\0\(info.st_ino):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)\(ctime):\(info.st_size)\n")
            }
        }
        add(url.path, ".")
        if let files = try? regularFiles(under: url), (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
            for file in files { add(url.appendingPathComponent(file).path, file) }
        }
        return (withCTime ? "c:" : "") + hasher.finalize()
    }

    // MARK: records

    /// What is stored under a record key.
    public enum RecordLookup: Sendable {
        case absent
        case found(StageRecord)
        /// The file exists but does not decode (truncated, damaged): why.
        case unreadable(String)
    }

    /// The record for `key`, read only: an unreadable one is reported as such
    /// and left in place (`cache verify --repair` removes it; a run that
    /// recomputes the stage replaces it).
    public func lookupRecord(_ key: String) -> RecordLookup {
        let url = recordURL(key)
        guard let data = FileManager.default.contents(atPath: url.path) else { return .absent }
        do { return .found(try Self.decoder.decode(StageRecord.self, from: data)) } catch {
            return .unreadable(Self.decodingProblem(error, bytes: data.count))
        }
    }

    /// The record for `key`, or nil. An unreadable record is reported through
    /// `onProblem` and treated as absent; nothing is removed.
    public func record(_ key: String, onProblem: (String) -> Void = { _ in }) -> StageRecord? {
        switch lookupRecord(key) {
        case .absent: return nil
        case .found(let record): return record
        case .unreadable(let why):
            onProblem("record \(key.prefix(12)) is unreadable (\(why))")
            return nil
        }
    }

    /// A short reason a JSON file does not decode.
    static func decodingProblem(_ error: Error, bytes: Int) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return "not valid JSON, \(bytes) bytes: \(context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription)"
        case DecodingError.keyNotFound(let key, _):
            return "field '\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        default:
            return "\(error)"
        }
    }

    public func writeRecord(_ record: StageRecord) throws {
        try writeAtomically(Self.encoder.encode(record), to: recordURL(record.key))
    }

    public func removeRecord(_ key: String) {
        try? FileManager.default.removeItem(at: recordURL(key))
    }

    /// Every record key in the cache.
    public func allRecordKeys() -> [String] {
        let dir = root.appendingPathComponent("records")
        let shards = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return shards.flatMap { shard in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(shard).path)) ?? [])
                .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        }.sorted()
    }

    // MARK: refs

    struct Ref: Codable { var key: String; var time: Date }

    /// The key last committed for `stage` of `workflow`.
    public func lastKey(workflow: String, stage: String) -> String? {
        guard let data = FileManager.default.contents(atPath: refURL(workflow: workflow, stage: stage).path) else { return nil }
        return (try? Self.decoder.decode(Ref.self, from: data))?.key
    }

    public func setLastKey(_ key: String, workflow: String, stage: String) throws {
        // A no-op rerun must not pay an fsync per stage.
        if lastKey(workflow: workflow, stage: stage) == key { return }
        try writeAtomically(Self.encoder.encode(Ref(key: key, time: Date())), to: refURL(workflow: workflow, stage: stage))
    }

    /// (workflow, stage, key) for every ref.
    public func allRefs() -> [(workflow: String, stage: String, key: String)] {
        let dir = root.appendingPathComponent("refs")
        var out: [(String, String, String)] = []
        for workflow in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
            for file in ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(workflow).path)) ?? []).sorted() where file.hasSuffix(".json") {
                let stage = String(file.dropLast(5))
                if let key = lastKey(workflow: workflow, stage: stage) { out.append((workflow, stage, key)) }
            }
        }
        return out
    }

    // MARK: memo

    /// The memo record of `key`; an unreadable one is reported through
    /// `onProblem` and treated as absent (its slot is recomputed and rewritten).
    func memoRecord(_ key: String, onProblem: (String) -> Void = { _ in }) -> MemoRecord? {
        guard let data = FileManager.default.contents(atPath: memoURL(key).path) else { return nil }
        do { return try Self.decoder.decode(MemoRecord.self, from: data) } catch {
            onProblem("memo record \(key.prefix(12)) is unreadable (\(error)); recomputing it")
            return nil
        }
    }

    func writeMemoRecord(_ record: MemoRecord) throws {
        try writeAtomically(Self.encoder.encode(record), to: memoURL(record.key))
    }

    func removeMemo(_ key: String) {
        try? FileManager.default.removeItem(at: memoURL(key))
    }

    func allMemoKeys() -> [String] {
        let dir = root.appendingPathComponent("memo")
        let shards = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return shards.flatMap { shard in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(shard).path)) ?? [])
                .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        }
    }

    // MARK: helpers

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// Temp file in the same directory, fsync, rename, fsync of the directory.
    public func writeAtomically(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString.prefix(8))")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CacheError("cannot write '\(tmp.path)': \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp.path, url.path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(tmp.path)
            throw CacheError("cannot write '\(url.path)': \(message)")
        }
        let dfd = open(dir.path, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    private func syncTree(_ url: URL) throws {
        let paths: [String]
        if (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
            paths = try regularFiles(under: url).map { url.appendingPathComponent($0).path }
        } else {
            paths = [url.path]
        }
        for path in paths {
            let fd = open(path, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
        }
    }

    private func makeReadOnly(_ url: URL) throws {
        if (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
            for file in try regularFiles(under: url) { chmod(url.appendingPathComponent(file).path, 0o444) }
            // Directories stay listable but not writable, deepest first.
            let enumerator = FileManager.default.enumerator(atPath: url.path)
            var dirs: [String] = []
            while let item = enumerator?.nextObject() as? String {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: url.appendingPathComponent(item).path, isDirectory: &isDir), isDir.boolValue { dirs.append(item) }
            }
            for dir in dirs.sorted(by: { $0.count > $1.count }) { chmod(url.appendingPathComponent(dir).path, 0o555) }
            chmod(url.path, 0o555)
        } else {
            chmod(url.path, 0o444)
        }
    }

    /// Removes a file or a tree, making read-only directories writable first.
    public func removeTree(_ url: URL) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return }
        if isDir.boolValue {
            chmod(url.path, 0o755)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] {
                try removeTree(url.appendingPathComponent(name))
            }
        }
        try FileManager.default.removeItem(at: url)
    }
}

/// A name safe as one path component.
func safeName(_ name: String) -> String {
    String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
}
