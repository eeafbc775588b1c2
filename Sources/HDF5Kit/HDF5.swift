import CHDF5
import Foundation

/// The HDF5 library this build links against, and the one lock around it.
///
/// Debian's hdf5-serial is built without thread safety, so every call into the
/// library from this module runs under `HDF5.serialized`; callers on any thread
/// may use HDF5Kit's types concurrently.
public enum HDF5 {
    public static var version: String {
        serialized {
            var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
            H5get_libversion(&major, &minor, &release)
            return "\(major).\(minor).\(release)"
        }
    }

    // Recursive: a public call may use helpers that take the lock again.
    private static let lock = NSRecursiveLock()
    private static let initialized: Bool = {
        // No clean-up at exit: after a failed write (a full disk) the library's
        // exit handler flushes the files that failed again and dereferences
        // their torn-down state. Every file we write is closed explicitly; one
        // still open at exit is a failed one, and the OS reclaims it.
        H5dont_atexit()
        H5open()
        // HDF5 prints its error stack to stderr by default; we report errors as
        // Swift values instead (see `libraryMessage()`).
        H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
        return true
    }()

    /// Runs `body` holding the global HDF5 lock, with the library initialised.
    static func serialized<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = initialized
        return try body()
    }

    /// The messages on HDF5's current error stack, outermost first, then clears it.
    /// Call right after a failed library call, under the lock.
    static func libraryMessage() -> String {
        final class Collector { var lines: [String] = [] }
        let collector = Collector()
        withExtendedLifetime(collector) {
            let context = Unmanaged.passUnretained(collector).toOpaque()
            H5Ewalk2(hid_t(H5E_DEFAULT), H5E_WALK_DOWNWARD, { _, error, data in
                guard let error, let data, let desc = error.pointee.desc else { return 0 }
                let collector = Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue()
                let line = String(cString: desc)
                if !line.isEmpty && !collector.lines.contains(line) { collector.lines.append(line) }
                return 0
            }, context)
        }
        H5Eclear2(hid_t(H5E_DEFAULT))
        // The outermost says what failed, the innermost why; the middle is noise.
        let lines = collector.lines
        switch lines.count {
        case 0: return "no details from the library"
        case 1, 2: return lines.joined(separator: ": ")
        default: return "\(lines[0]): \(lines[lines.count - 1])"
        }
    }
}
