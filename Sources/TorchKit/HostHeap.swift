import CHostHeap
import Foundation

/// How the C heap treats libtorch's large CPU buffers while a network trains.
///
/// glibc serves every allocation over 32 MiB with its own `mmap` and gives it
/// back with `munmap` when freed. A CPU training step of the DeepSSM network
/// allocates and frees several such buffers per layer (oneDNN's convolution
/// workspaces, activations and their gradients, ~100 MiB each at 64³), so
/// every step faults the same gigabyte of fresh, zeroed pages in again: a
/// quarter of the step's time went to the kernel (measured: 1.15 s → 0.86 s
/// per batch-4 step at 64³ on 2 threads, system time 2.6 s → 0.5 s over 6 steps).
///
/// Inside `keepingLargeBlocks` large blocks come from the heap and stay there
/// when freed, so the next step reuses the same pages. The numbers computed are
/// unchanged: only where the bytes live differs. On leaving, the defaults are
/// back and the retained memory is returned to the system. This needs the
/// process to allocate from one arena (`useSingleArena`, first thing in
/// `main`): the other arenas' heaps are unmapped whenever they empty. Both
/// together: an epoch of the cpu profile 71.3 s → 63.3 s, system time
/// 25.7 s → 0.8 s (2 cores, 64³, batch 4).
///
/// `SSMFLOW_HOST_HEAP=system` in the environment leaves glibc's defaults alone
/// (for comparison: `bench/torch/heap.sh`).
public enum HostHeap {
    /// False when `SSMFLOW_HOST_HEAP=system` asks for glibc's defaults.
    public static let isEnabled = ProcessInfo.processInfo.environment["SSMFLOW_HOST_HEAP"] != "system"

    /// Every thread allocates from the main arena. Call before any other
    /// thread exists; returns false off glibc or when disabled.
    @discardableResult
    public static func useSingleArena() -> Bool {
        isEnabled && ssmflow_heap_single_arena() != 0
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var holders = 0  // guarded by `lock`

    /// Runs `body` with large allocations kept in the heap. Nested and
    /// concurrent uses share one setting; the last to leave restores it.
    public static func keepingLargeBlocks<T>(_ body: () throws -> T) rethrows -> T {
        enter()
        defer { leave() }
        return try body()
    }

    public static func keepingLargeBlocks<T>(_ body: () async throws -> T) async rethrows -> T {
        enter()
        defer { leave() }
        return try await body()
    }

    /// Whether large blocks are being kept now (for tests and logs).
    public static var isKeepingLargeBlocks: Bool {
        lock.lock()
        defer { lock.unlock() }
        return holders > 0
    }

    /// Bytes held now in large blocks that have their own mapping; nil off
    /// glibc. Zero growth inside `keepingLargeBlocks` is the policy at work.
    public static var mappedBytes: Int? {
        let bytes = ssmflow_heap_mapped_bytes()
        return bytes < 0 ? nil : Int(bytes)
    }

    /// Bytes free inside the heap now (its bins and its top); nil off glibc.
    public static var freeBytes: Int? {
        let bytes = ssmflow_heap_free_bytes()
        return bytes < 0 ? nil : Int(bytes)
    }

    private static func enter() {
        lock.lock()
        defer { lock.unlock() }
        holders += 1
        guard holders == 1, isEnabled else { return }
        _ = ssmflow_heap_keep_large_blocks(1)
    }

    private static func leave() {
        lock.lock()
        defer { lock.unlock() }
        holders -= 1
        guard holders == 0, isEnabled else { return }
        _ = ssmflow_heap_keep_large_blocks(0)
    }
}
