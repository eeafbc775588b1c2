import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import TorchKit

/// HostHeap's promise: a large block allocated inside `keepingLargeBlocks`
/// comes from the heap (glibc's own count of mapped blocks does not grow), and
/// freed and allocated again it reuses pages already mapped (the kernel's
/// count of page faults, where the kernel keeps one); outside it, glibc maps
/// a fresh block each time.
final class HostHeapTests: XCTestCase {
    #if canImport(Glibc)
    private static let blockBytes = 96 << 20  // above glibc's 32 MiB mmap ceiling

    private func minorFaults() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt
    }

    /// Bytes of mapped blocks that allocating one block of `bytes` adds.
    private func mappedBytesOfOneBlock(_ bytes: Int) throws -> Int {
        let before = try XCTUnwrap(HostHeap.mappedBytes, "glibc reports its mapped blocks")
        let block = malloc(bytes)!
        defer { free(block) }
        return try XCTUnwrap(HostHeap.mappedBytes) - before
    }

    /// A large block that glibc's default cannot serve from the heap as it
    /// stands, whatever earlier tests left free in it (glibc serves a request
    /// from a free chunk or the heap's top before it maps one; the top stays
    /// when the system refuses to shrink the heap).
    private func blockAboveTheHeapsFreeBytes() throws -> Int {
        max(Self.blockBytes, try XCTUnwrap(HostHeap.freeBytes, "glibc reports its free bytes") + (64 << 20))
    }

    /// Page faults of allocating, writing and freeing a large block, after one
    /// such cycle has run (on this thread, as a training step would).
    private func faultsOfSecondCycle(_ bytes: Int = blockBytes) -> Int {
        func cycle() {
            let block = malloc(bytes)!
            memset(block, 1, bytes)
            free(block)
        }
        cycle()
        let before = minorFaults()
        cycle()
        return minorFaults() - before
    }

    /// Whether this kernel counts minor page faults at all (some sandboxes
    /// report zero): touching a fresh anonymous mapping must raise the count.
    private func kernelCountsPageFaults() -> Bool {
        let bytes = 4 << 20
        guard let region = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              region != MAP_FAILED else { return false }
        defer { munmap(region, bytes) }
        let before = minorFaults()
        memset(region, 1, bytes)
        return minorFaults() > before
    }

    func test_keepingLargeBlocks_servesLargeBlocksFromTheHeap_andTheDefaultMapsThem() throws {
        try XCTSkipUnless(HostHeap.isEnabled, "SSMFLOW_HOST_HEAP=system is set: the heap policy is off")
        let kept = try HostHeap.keepingLargeBlocks { try mappedBytesOfOneBlock(Self.blockBytes) }
        XCTAssertFalse(HostHeap.isKeepingLargeBlocks)
        let bytes = try blockAboveTheHeapsFreeBytes()
        let system = try mappedBytesOfOneBlock(bytes)
        XCTAssertEqual(kept, 0, "a large block got its own mapping while keeping large blocks")
        XCTAssertGreaterThanOrEqual(system, bytes, "glibc's default should map a large block of its own")
    }

    func test_keepingLargeBlocks_reusesTheMappedPages_andTheDefaultDoesNot() throws {
        try XCTSkipUnless(HostHeap.isEnabled, "SSMFLOW_HOST_HEAP=system is set: the heap policy is off")
        try XCTSkipUnless(kernelCountsPageFaults(),
                          "this kernel reports no minor page faults (getrusage ru_minflt stays 0), so page reuse cannot be seen; the mapped-block test covers the policy")
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = Self.blockBytes / pageSize
        let kept = HostHeap.keepingLargeBlocks { faultsOfSecondCycle() }
        XCTAssertFalse(HostHeap.isKeepingLargeBlocks)
        let bytes = try blockAboveTheHeapsFreeBytes()
        let system = faultsOfSecondCycle(bytes)
        XCTAssertLessThan(kept, pages / 10, "a freed block's pages were faulted in again while keeping large blocks")
        XCTAssertGreaterThan(system, pages / 2, "glibc's default should map a fresh block (\(bytes / pageSize) pages)")
    }

    func test_keepingLargeBlocks_nests_andTheLastToLeaveRestores() {
        HostHeap.keepingLargeBlocks {
            XCTAssertTrue(HostHeap.isKeepingLargeBlocks)
            HostHeap.keepingLargeBlocks { XCTAssertTrue(HostHeap.isKeepingLargeBlocks) }
            XCTAssertTrue(HostHeap.isKeepingLargeBlocks)
        }
        XCTAssertFalse(HostHeap.isKeepingLargeBlocks)
    }
    #endif
}
