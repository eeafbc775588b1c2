import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import TorchKit

/// HostHeap's promise, measured by the kernel's own count of page faults: a
/// large block freed and allocated again inside `keepingLargeBlocks` reuses
/// pages already mapped; outside it, glibc maps fresh pages for every block.
final class HostHeapTests: XCTestCase {
    #if canImport(Glibc)
    private static let blockBytes = 96 << 20  // above glibc's 32 MiB mmap ceiling

    private func minorFaults() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt
    }

    /// Page faults of allocating, writing and freeing a large block, after one
    /// such cycle has run (on this thread, as a training step would).
    private func faultsOfSecondCycle() -> Int {
        func cycle() {
            let block = malloc(Self.blockBytes)!
            memset(block, 1, Self.blockBytes)
            free(block)
        }
        cycle()
        let before = minorFaults()
        cycle()
        return minorFaults() - before
    }

    func test_keepingLargeBlocks_reusesTheMappedPages_andTheDefaultDoesNot() throws {
        try XCTSkipUnless(HostHeap.isEnabled, "SSMFLOW_HOST_HEAP=system is set: the heap policy is off")
        let pages = Self.blockBytes / Int(sysconf(Int32(_SC_PAGESIZE)))
        let kept = HostHeap.keepingLargeBlocks { faultsOfSecondCycle() }
        XCTAssertFalse(HostHeap.isKeepingLargeBlocks)
        let system = faultsOfSecondCycle()
        XCTAssertLessThan(kept, pages / 10, "a freed block's pages were faulted in again while keeping large blocks")
        XCTAssertGreaterThan(system, pages / 2, "glibc's default should map a fresh block (\(pages) pages)")
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
