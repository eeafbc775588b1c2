import COpenSSL
import Foundation

/// The content digest of an artifact (a file or a directory), with its size.
///
/// A file's digest is SHA-256 over `file\0` and its bytes; a directory's is
/// SHA-256 over `tree\0` and its sorted (relative path, file digest) list, so a
/// file and a directory never share a digest and a directory's digest does not
/// depend on the order the file system lists it.
public struct ArtifactDigest: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Lowercase hex SHA-256.
    public var hex: String
    /// Total bytes (all files of a directory).
    public var size: Int64
    public var isDirectory: Bool
    /// Number of files (1 for a file).
    public var fileCount: Int

    public var description: String { String(hex.prefix(12)) }

    /// Hashes the file or directory at `url`.
    public static func of(_ url: URL) throws -> ArtifactDigest {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CacheError("no file or directory at '\(url.path)'")
        }
        if !isDirectory.boolValue {
            let (digest, size) = try hashFile(url)
            return ArtifactDigest(hex: digest, size: size, isDirectory: false, fileCount: 1)
        }
        let hasher = SHA256Hasher()
        hasher.update("tree\0")
        var total: Int64 = 0
        let files = try regularFiles(under: url)
        for relative in files {
            let (digest, size) = try hashFile(url.appendingPathComponent(relative))
            hasher.update("\(relative)\0\(digest)\n")
            total += size
        }
        return ArtifactDigest(hex: hasher.finalize(), size: total, isDirectory: true, fileCount: files.count)
    }

    /// Hashes one file in 1 MiB reads.
    static func hashFile(_ url: URL) throws -> (String, Int64) {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw CacheError("cannot read '\(url.path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        hasher.update("file\0")
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let n = read(fd, buffer.baseAddress, bufferSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw CacheError("cannot read '\(url.path)': \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
        }
        return (hasher.finalize(), total)
    }
}

/// Relative paths of the regular files under `directory`, sorted bytewise.
/// Symbolic links and special files are refused: an artifact is plain bytes.
func regularFiles(under directory: URL) throws -> [String] {
    var result: [String] = []
    func walk(_ relative: String) throws {
        let url = relative.isEmpty ? directory : directory.appendingPathComponent(relative)
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
            let path = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(directory.appendingPathComponent(path).path, &info) == 0 else {
                throw CacheError("cannot stat '\(directory.path)/\(path)': \(String(cString: strerror(errno)))")
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: try walk(path)
            case S_IFREG: result.append(path)
            default:
                throw CacheError("'\(directory.path)/\(path)' is not a regular file or directory; artifacts may hold only plain files")
            }
        }
    }
    try walk("")
    return result.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
}
