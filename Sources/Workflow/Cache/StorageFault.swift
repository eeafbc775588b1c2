import Foundation

/// A failure of the storage under the cache (full, over quota, an I/O error,
/// no permission, read-only), recognised in any error a library or Foundation
/// throws and told in our words: what, where (the cache path, its free space,
/// the stage) and the remedy.
public struct StorageFault: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case full, quota, io, permission, readOnly
    }

    public var kind: Kind

    /// The fault behind `error`, or nil when it is not a storage fault. Looks at
    /// POSIX and Cocoa error codes (and their underlying errors), then at the
    /// text of errors that only carry `strerror` (HDF5's, libtorch's, ours).
    public static func classify(_ error: Error) -> StorageFault? {
        classifyStructured(error) ?? classify(text: "\(error)")
    }

    /// The fault behind `error` from its codes alone.
    static func classifyStructured(_ error: Error) -> StorageFault? {
        var seen = 0
        var current: Error? = error
        while let e = current, seen < 8 {
            seen += 1
            if let posix = e as? POSIXError, let kind = kind(errno: posix.code.rawValue) { return StorageFault(kind: kind) }
            let ns = e as NSError
            if ns.domain == NSPOSIXErrorDomain, let kind = kind(errno: Int32(ns.code)) { return StorageFault(kind: kind) }
            if ns.domain == NSCocoaErrorDomain {
                switch ns.code {
                case NSFileWriteOutOfSpaceError: return StorageFault(kind: .full)
                case NSFileWriteVolumeReadOnlyError: return StorageFault(kind: .readOnly)
                case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return StorageFault(kind: .permission)
                default: break
                }
            }
            current = ns.userInfo[NSUnderlyingErrorKey] as? Error
        }
        return nil
    }

    /// The fault named in a message that quotes `strerror` or an errno. Only
    /// faults of the storage itself: "permission denied" in a stage's message
    /// may be about any file, so only a structured error code tells that one.
    public static func classify(text: String) -> StorageFault? {
        let markers: [(String, Kind)] = [
            ("No space left on device", .full), ("errno = 28,", .full), ("ENOSPC", .full),
            ("Disk quota exceeded", .quota), ("EDQUOT", .quota), ("errno = 122,", .quota),
            ("Input/output error", .io), ("errno = 5,", .io),
        ]
        return markers.first { text.contains($0.0) }.map { StorageFault(kind: $0.1) }
    }

    static func kind(errno code: Int32) -> Kind? {
        switch code {
        case ENOSPC: return .full
        case EDQUOT: return .quota
        case EIO: return .io
        case EACCES, EPERM: return .permission
        case EROFS: return .readOnly
        default: return nil
        }
    }

    /// One sentence for this fault: what, where (`path`, its free space, the
    /// stage) and the remedy.
    public func message(path: URL, stage: String?) -> String {
        let place = stage.map { "stage '\($0)' failed: " } ?? ""
        let free = Self.freeSpace(at: path).map { ", \(formatBytes($0)) free" } ?? ""
        switch kind {
        case .full:
            return "\(place)the file system of the cache '\(path.path)' is full (no space left on device\(free)); free some space (e.g. 'ssmflow cache gc') or choose another --cache-dir, then run again: what finished is kept"
        case .quota:
            return "\(place)the disk quota of the cache '\(path.path)' is exceeded (\(free.isEmpty ? "" : free.dropFirst(2) + "; ")disk quota exceeded); free some space (e.g. 'ssmflow cache gc') or choose another --cache-dir, then run again: what finished is kept"
        case .io:
            return "\(place)an input/output error on the cache '\(path.path)' (the disk or the network file system failed); check the device, run 'ssmflow cache verify', then run again"
        case .permission:
            return "\(place)no permission to write to the cache '\(path.path)'; make it writable for this user or choose another --cache-dir"
        case .readOnly:
            return "\(place)the cache '\(path.path)' is on a read-only file system; choose a writable --cache-dir"
        }
    }

    /// Bytes available to this user on the file system holding `url` (or its
    /// nearest existing parent).
    public static func freeSpace(at url: URL) -> Int64? {
        var path = url.standardizedFileURL
        while !FileManager.default.fileExists(atPath: path.path), path.path != "/" { path.deleteLastPathComponent() }
        var info = statvfs()
        guard statvfs(path.path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// A stage's own failure message in our words when it reports a full disk
    /// and the cache's file system is indeed nearly full (under 256 MB or 2 %
    /// free): a stage may fill another disk, which is not the cache's fault.
    public static func describeStageMessage(_ message: String, cache: URL) -> String? {
        guard let fault = classify(text: message) else { return nil }
        if fault.kind == .full {
            var info = statvfs()
            guard statvfs(cache.path, &info) == 0 else { return nil }
            let free = Double(info.f_bavail) * Double(info.f_frsize)
            let total = Double(info.f_blocks) * Double(info.f_frsize)
            guard free < max(256e6, 0.02 * total) else { return nil }
        }
        return fault.message(path: cache, stage: nil)
    }

    /// `error` in our words when it is a storage fault, else nil.
    public static func describe(_ error: Error, cache: URL, stage: String?) -> String? {
        if let fault = classifyStructured(error) { return fault.message(path: cache, stage: stage) }
        return describeStageMessage("\(error)", cache: cache).map { words in stage.map { "stage '\($0)' failed: " + words } ?? words }
    }
}
