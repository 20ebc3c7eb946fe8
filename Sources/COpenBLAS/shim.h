// OpenBLAS's CBLAS interface (cblas_sgemm and friends) for the engine.
#include <cblas.h>
