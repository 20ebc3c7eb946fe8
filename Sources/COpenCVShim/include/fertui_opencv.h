// C interface to the OpenCV calls fertui uses. Opaque handles; every function returns 0 on
// success or a negative code with a message in `err` (no C++ exception crosses this line).
#ifndef FERTUI_OPENCV_H
#define FERTUI_OPENCV_H
#ifdef __cplusplus
extern "C" {
#endif

/// OpenCV's version string, e.g. "4.6.0".
const char *fcv_version(void);

#ifdef __cplusplus
}
#endif
#endif
