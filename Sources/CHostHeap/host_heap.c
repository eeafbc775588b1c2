#include "host_heap.h"

#include <stdlib.h> /* defines __GLIBC__ on glibc */

#if defined(__GLIBC__)
#include <malloc.h>

int ssmflow_heap_keep_large_blocks(int keep) {
    if (keep) {
        /* No mmap for large blocks; never give the heap's top back. */
        return mallopt(M_MMAP_MAX, 0) && mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
    }
    /* glibc's defaults: 65536 mappings, trim above 128 KiB. */
    int applied = mallopt(M_MMAP_MAX, 65536) && mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    malloc_trim(0);
    return applied;
}

int ssmflow_heap_single_arena(void) {
    return mallopt(M_ARENA_MAX, 1);
}

long long ssmflow_heap_mapped_bytes(void) {
    return (long long)mallinfo2().hblkhd;
}

long long ssmflow_heap_free_bytes(void) {
    return (long long)mallinfo2().fordblks;
}
#else
int ssmflow_heap_keep_large_blocks(int keep) {
    (void)keep;
    return 0;
}

int ssmflow_heap_single_arena(void) {
    return 0;
}

long long ssmflow_heap_mapped_bytes(void) {
    return -1;
}

long long ssmflow_heap_free_bytes(void) {
    return -1;
}
#endif
