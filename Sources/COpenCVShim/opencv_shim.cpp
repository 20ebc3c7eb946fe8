// OpenCV behind a C ABI: cascade detection, image and video I/O, resizing.
#include "fertui_opencv.h"
#include <opencv2/core.hpp>

extern "C" const char *fcv_version(void) { return CV_VERSION; }
