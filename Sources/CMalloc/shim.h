// glibc's heap controls from <malloc.h>, which Swift's Glibc module does not export.
#include <malloc.h>

/// Hands freed heap pages back to the system; returns 1 when memory was released.
static inline int cmalloc_trim(void) { return malloc_trim(0); }
