// glibc's heap controls from <malloc.h>, which Swift's Glibc module does not export.
#include <malloc.h>

/// Hands freed heap pages back to the system; returns 1 when memory was released.
static inline int cmalloc_trim(void) { return malloc_trim(0); }

/// Large blocks (model weights) always get their own mappings, returned to the system when
/// freed, and the heap is split into at most `arenas` arenas: glibc otherwise raises its mmap
/// threshold after the first large free and serves later weights from fragmented heap arenas,
/// so a monitor that switches models grows. Returns 1 when both settings took.
static inline int cmalloc_return_large_blocks(int threshold, int arenas) {
    return mallopt(M_MMAP_THRESHOLD, threshold) && mallopt(M_ARENA_MAX, arenas);
}
