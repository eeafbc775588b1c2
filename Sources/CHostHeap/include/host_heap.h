/*
 * The C heap's policy for large blocks (glibc's mallopt), for TorchKit's
 * HostHeap: whether blocks above the mmap threshold get their own mapping,
 * returned to the system when freed, or come from the heap and stay there.
 */
#ifndef SSMFLOW_HOST_HEAP_H
#define SSMFLOW_HOST_HEAP_H

#ifdef __cplusplus
extern "C" {
#endif

/** keep != 0: serve large blocks from the heap and never trim it; keep == 0:
 *  glibc's defaults again, and the free memory at the top of the heap goes
 *  back to the system. Returns 1 when applied, 0 where the C library has no
 *  such setting (not glibc). */
int ssmflow_heap_keep_large_blocks(int keep);

/** Every thread allocates from the main arena (M_ARENA_MAX 1). Call first
 *  thing in main, before any other thread allocates: a thread keeps the arena
 *  of its first allocation. Without it, a thread's large blocks live in arena
 *  heaps of at most 64 MiB that glibc unmaps whenever they empty, whatever the
 *  trim setting. Returns 1 when applied, 0 off glibc. */
int ssmflow_heap_single_arena(void);

/** Bytes held now in blocks that have their own mapping (glibc's
 *  mallinfo2().hblkhd); -1 where the C library cannot say (not glibc). */
long long ssmflow_heap_mapped_bytes(void);

/** Bytes free inside the heap now, in its bins and at its top (glibc's
 *  mallinfo2().fordblks): a request above this cannot be served from the
 *  heap as it stands. -1 off glibc. */
long long ssmflow_heap_free_bytes(void);

#ifdef __cplusplus
}
#endif

#endif
