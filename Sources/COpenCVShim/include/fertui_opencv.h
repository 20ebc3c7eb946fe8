// C interface to the OpenCV calls fertui uses. Opaque handles; every function returns 0 on
// success or a negative FCV_E* code with a message in `err` (no C++ exception crosses this line).
#ifndef FERTUI_OPENCV_H
#define FERTUI_OPENCV_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/// Result codes. `err` (when not NULL) receives a sentence naming the value that failed.
enum {
    FCV_OK = 0,
    FCV_ENOTFOUND = -1,   // file missing or unreadable
    FCV_EINVAL = -2,      // bad argument (size, channels, empty buffer)
    FCV_EDECODE = -3,     // the file exists but OpenCV cannot decode or open it
    FCV_EOPENCV = -4,     // OpenCV threw an exception
    FCV_ECAPACITY = -5,   // caller's buffer too small; sizes are returned so it can retry
};

/// Interpolation for fcv_resize (OpenCV's INTER_LINEAR and INTER_AREA).
enum { FCV_INTER_LINEAR = 1, FCV_INTER_AREA = 3 };

/// Threads OpenCV's own parallel loops may use (cascade detection, resize); 0 = OpenCV's default.
/// With detection and the engine on separate pipeline stages, 1 avoids oversubscribing the cores.
void fcv_set_threads(int threads);

/// Draws a rectangle outline (x, y, width, height; colour as B, G, R) into packed BGR pixels.
int fcv_draw_rectangle(uint8_t *bgr, int width, int height, int x, int y, int boxWidth, int boxHeight,
                       const uint8_t color[3], int thickness, char *err, size_t errlen);
/// Draws `text` on a filled background whose top-left corner is (x, y), in OpenCV's plain font
/// scaled so the text is about `textHeight` pixels high.
int fcv_draw_label(uint8_t *bgr, int width, int height, const char *text, int x, int y, int textHeight,
                   const uint8_t textColor[3], const uint8_t background[3], char *err, size_t errlen);

/// Frees a buffer that an fcv_ function allocated (fcv_image_read).
void fcv_free(void *p);

// ---- Haar cascade face detection -------------------------------------------------------------
typedef struct fcv_cascade fcv_cascade;

int fcv_cascade_create(const char *path, fcv_cascade **out, char *err, size_t errlen);
/// Detects objects in an 8-bit gray image (`stride` bytes per row). Boxes go to `rects` as
/// (x, y, w, h) quadruples, at most `capacity` of them; `count` receives how many were found
/// (it may exceed `capacity`, the rest are dropped). minSize/maxSize in pixels, 0 = no limit.
int fcv_cascade_detect(fcv_cascade *cascade, const uint8_t *gray, int width, int height, int stride,
                       double scaleFactor, int minNeighbors, int minSize, int maxSize,
                       int32_t *rects, int capacity, int *count, char *err, size_t errlen);
void fcv_cascade_destroy(fcv_cascade *cascade);

// ---- Pixels ----------------------------------------------------------------------------------
/// BGR (3 channels) to gray with OpenCV's BT.601 fixed-point weights.
int fcv_bgr_to_gray(const uint8_t *bgr, int width, int height, uint8_t *gray, char *err, size_t errlen);
/// Resizes a packed 1- or 3-channel 8-bit image into `dst` (dstWidth*dstHeight*channels bytes).
int fcv_resize(const uint8_t *src, int width, int height, int channels, uint8_t *dst, int dstWidth,
               int dstHeight, int interpolation, char *err, size_t errlen);
/// Cuts the rectangle (rx, ry, rw, rh) out of an 8-bit gray image (`stride` bytes per row), resizes
/// it to dstWidth x dstHeight (area when shrinking, bilinear when enlarging) into packed `dst`, and
/// equalises its histogram when `equalize` is non-zero: the input a cascade pass over a region wants.
int fcv_gray_region(const uint8_t *gray, int width, int height, int stride, int rx, int ry, int rw, int rh,
                    uint8_t *dst, int dstWidth, int dstHeight, int equalize, char *err, size_t errlen);

// ---- Image files -----------------------------------------------------------------------------
/// Reads any image OpenCV decodes (JPEG, PNG, BMP, PGM, ...) as `channels` 1 (gray) or 3 (BGR).
/// `*pixels` is malloc'd, packed rows; release it with fcv_free.
int fcv_image_read(const char *path, int channels, uint8_t **pixels, int *width, int *height,
                   char *err, size_t errlen);
/// Writes a packed 1- or 3-channel image; the extension picks the format (.png, .jpg, ...).
/// `jpegQuality` 0...100 (used for JPEG only).
int fcv_image_write(const char *path, const uint8_t *pixels, int width, int height, int channels,
                    int jpegQuality, char *err, size_t errlen);

// ---- Video files -----------------------------------------------------------------------------
typedef struct fcv_video fcv_video;

int fcv_video_open(const char *path, fcv_video **out, char *err, size_t errlen);
/// Frame size, frames per second (0 when unknown) and frame count (-1 when unknown).
void fcv_video_info(fcv_video *video, int *width, int *height, double *fps, int64_t *frameCount);
/// Decodes the next frame as packed BGR into `bgr` (`capacity` bytes). Returns 1 with a frame,
/// 0 at the end of the file, or a negative code (FCV_ECAPACITY sets width/height of the frame).
int fcv_video_read(fcv_video *video, uint8_t *bgr, size_t capacity, int *width, int *height,
                   char *err, size_t errlen);
/// Goes back to the first frame (for looping).
int fcv_video_rewind(fcv_video *video, char *err, size_t errlen);
void fcv_video_close(fcv_video *video);

typedef struct fcv_video_writer fcv_video_writer;

/// Opens a writer; `fourcc` is four characters ("MJPG", "mp4v", ...).
int fcv_video_writer_open(const char *path, const char *fourcc, double fps, int width, int height,
                          fcv_video_writer **out, char *err, size_t errlen);
/// Appends one packed BGR frame of the writer's size.
int fcv_video_writer_write(fcv_video_writer *writer, const uint8_t *bgr, char *err, size_t errlen);
void fcv_video_writer_close(fcv_video_writer *writer);

#ifdef __cplusplus
}
#endif
#endif
