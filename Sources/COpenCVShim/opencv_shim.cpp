// OpenCV behind a C ABI: cascade detection, image and video I/O, resizing.
// Every entry point catches OpenCV's exceptions and turns them into a code and a message.
#include "fertui_opencv.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/stat.h>
#include <vector>

struct fcv_cascade {
    cv::CascadeClassifier classifier;
};

struct fcv_video {
    cv::VideoCapture capture;
    std::string path;
    cv::Mat frame;
};

struct fcv_video_writer {
    cv::VideoWriter writer;
    int width, height;
};

namespace {

int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
    if (err && errlen > 0) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err, errlen, fmt, args);
        va_end(args);
    }
    return code;
}

bool isReadableFile(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// Runs `body`, mapping any exception to FCV_EOPENCV with its text.
template <typename Body> int guarded(char *err, size_t errlen, const char *what, Body body) {
    try {
        return body();
    } catch (const cv::Exception &e) {
        return fail(err, errlen, FCV_EOPENCV, "%s: OpenCV error: %s", what, e.what());
    } catch (const std::bad_alloc &) {
        return fail(err, errlen, FCV_EOPENCV, "%s: out of memory", what);
    } catch (const std::exception &e) {
        return fail(err, errlen, FCV_EOPENCV, "%s: %s", what, e.what());
    } catch (...) {
        return fail(err, errlen, FCV_EOPENCV, "%s: unknown C++ exception", what);
    }
}

// Copies a Mat into packed rows (no padding).
void copyPacked(const cv::Mat &m, uint8_t *dst) {
    size_t row = (size_t)m.cols * m.elemSize();
    if (m.isContinuous()) {
        std::memcpy(dst, m.data, row * m.rows);
        return;
    }
    for (int y = 0; y < m.rows; y++) std::memcpy(dst + row * y, m.ptr(y), row);
}

// FFmpeg when OpenCV has it (mp4, avi, mkv, ...): other backends (GStreamer) print pipeline
// warnings on files that are not videos. Any backend otherwise.
bool openCapture(cv::VideoCapture &capture, const std::string &path) {
    int api = cv::videoio_registry::hasBackend(cv::CAP_FFMPEG) ? cv::CAP_FFMPEG : cv::CAP_ANY;
    return capture.open(path, api) && capture.isOpened();
}

}  // namespace

extern "C" void fcv_free(void *p) { std::free(p); }

extern "C" void fcv_set_threads(int threads) {
    try {
        cv::setNumThreads(threads > 0 ? threads : -1);
    } catch (...) {
    }
}

// ---- Haar cascade -----------------------------------------------------------------------------

extern "C" int fcv_cascade_create(const char *path, fcv_cascade **out, char *err, size_t errlen) {
    *out = nullptr;
    if (!isReadableFile(path))
        return fail(err, errlen, FCV_ENOTFOUND, "cascade file %s does not exist or is not a file", path ? path : "(null)");
    return guarded(err, errlen, "loading cascade", [&] {
        auto *c = new fcv_cascade();
        if (!c->classifier.load(path) || c->classifier.empty()) {
            delete c;
            return fail(err, errlen, FCV_EDECODE, "%s is not an OpenCV cascade classifier XML file", path);
        }
        *out = c;
        return (int)FCV_OK;
    });
}

extern "C" int fcv_cascade_detect(fcv_cascade *cascade, const uint8_t *gray, int width, int height, int stride,
                                  double scaleFactor, int minNeighbors, int minSize, int maxSize,
                                  int32_t *rects, int capacity, int *count, char *err, size_t errlen) {
    *count = 0;
    if (!cascade || !gray || width <= 0 || height <= 0 || stride < width)
        return fail(err, errlen, FCV_EINVAL, "detect: bad image %dx%d (stride %d)", width, height, stride);
    if (scaleFactor <= 1.0)
        return fail(err, errlen, FCV_EINVAL, "detect: scaleFactor %g must be above 1", scaleFactor);
    return guarded(err, errlen, "detecting faces", [&] {
        cv::Mat image(height, width, CV_8UC1, const_cast<uint8_t *>(gray), (size_t)stride);
        std::vector<cv::Rect> found;
        cascade->classifier.detectMultiScale(image, found, scaleFactor, minNeighbors, 0,
                                             cv::Size(minSize, minSize), cv::Size(maxSize, maxSize));
        *count = (int)found.size();
        for (int i = 0; i < (int)found.size() && i < capacity; i++) {
            rects[4 * i + 0] = found[i].x;
            rects[4 * i + 1] = found[i].y;
            rects[4 * i + 2] = found[i].width;
            rects[4 * i + 3] = found[i].height;
        }
        return (int)FCV_OK;
    });
}

extern "C" void fcv_cascade_destroy(fcv_cascade *cascade) { delete cascade; }

// ---- Pixels -----------------------------------------------------------------------------------

extern "C" int fcv_bgr_to_gray(const uint8_t *bgr, int width, int height, uint8_t *gray, char *err, size_t errlen) {
    if (!bgr || !gray || width <= 0 || height <= 0)
        return fail(err, errlen, FCV_EINVAL, "bgr_to_gray: bad image %dx%d", width, height);
    return guarded(err, errlen, "converting to gray", [&] {
        cv::Mat src(height, width, CV_8UC3, const_cast<uint8_t *>(bgr));
        cv::Mat dst(height, width, CV_8UC1, gray);
        cv::cvtColor(src, dst, cv::COLOR_BGR2GRAY);
        return (int)FCV_OK;
    });
}

extern "C" int fcv_resize(const uint8_t *src, int width, int height, int channels, uint8_t *dst, int dstWidth,
                          int dstHeight, int interpolation, char *err, size_t errlen) {
    if (!src || !dst || width <= 0 || height <= 0 || dstWidth <= 0 || dstHeight <= 0 ||
        (channels != 1 && channels != 3))
        return fail(err, errlen, FCV_EINVAL, "resize: bad sizes %dx%dx%d -> %dx%d", width, height, channels,
                    dstWidth, dstHeight);
    if (interpolation != FCV_INTER_LINEAR && interpolation != FCV_INTER_AREA)
        return fail(err, errlen, FCV_EINVAL, "resize: unknown interpolation %d", interpolation);
    return guarded(err, errlen, "resizing", [&] {
        int type = channels == 1 ? CV_8UC1 : CV_8UC3;
        cv::Mat s(height, width, type, const_cast<uint8_t *>(src));
        cv::Mat d(dstHeight, dstWidth, type, dst);
        cv::resize(s, d, d.size(), 0, 0, interpolation == FCV_INTER_AREA ? cv::INTER_AREA : cv::INTER_LINEAR);
        return (int)FCV_OK;
    });
}

extern "C" int fcv_gray_region(const uint8_t *gray, int width, int height, int stride, int rx, int ry, int rw, int rh,
                               uint8_t *dst, int dstWidth, int dstHeight, int equalize, char *err, size_t errlen) {
    if (!gray || !dst || width <= 0 || height <= 0 || stride < width || dstWidth <= 0 || dstHeight <= 0)
        return fail(err, errlen, FCV_EINVAL, "gray_region: bad sizes %dx%d (stride %d) -> %dx%d", width, height,
                    stride, dstWidth, dstHeight);
    if (rx < 0 || ry < 0 || rw <= 0 || rh <= 0 || rx + rw > width || ry + rh > height)
        return fail(err, errlen, FCV_EINVAL, "gray_region: rectangle %d,%d %dx%d outside the %dx%d image", rx, ry,
                    rw, rh, width, height);
    return guarded(err, errlen, "preparing a detection region", [&] {
        cv::Mat image(height, width, CV_8UC1, const_cast<uint8_t *>(gray), (size_t)stride);
        cv::Mat region = image(cv::Rect(rx, ry, rw, rh));
        cv::Mat d(dstHeight, dstWidth, CV_8UC1, dst);
        if (rw == dstWidth && rh == dstHeight)
            region.copyTo(d);
        else
            cv::resize(region, d, d.size(), 0, 0, dstWidth < rw ? cv::INTER_AREA : cv::INTER_LINEAR);
        if (equalize) cv::equalizeHist(d, d);
        return (int)FCV_OK;
    });
}

// ---- Image files ------------------------------------------------------------------------------

extern "C" int fcv_image_read(const char *path, int channels, uint8_t **pixels, int *width, int *height, char *err,
                              size_t errlen) {
    *pixels = nullptr;
    *width = *height = 0;
    if (channels != 1 && channels != 3)
        return fail(err, errlen, FCV_EINVAL, "image_read: channels must be 1 or 3, not %d", channels);
    if (!isReadableFile(path))
        return fail(err, errlen, FCV_ENOTFOUND, "image %s does not exist or is not a file", path ? path : "(null)");
    return guarded(err, errlen, "reading image", [&] {
        cv::Mat m = cv::imread(path, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
        if (m.empty())
            return fail(err, errlen, FCV_EDECODE, "%s is not an image OpenCV can decode", path);
        size_t bytes = (size_t)m.cols * m.rows * channels;
        auto *buf = (uint8_t *)std::malloc(bytes);
        if (!buf) return fail(err, errlen, FCV_EOPENCV, "out of memory reading %s", path);
        copyPacked(m, buf);
        *pixels = buf;
        *width = m.cols;
        *height = m.rows;
        return (int)FCV_OK;
    });
}

extern "C" int fcv_image_write(const char *path, const uint8_t *pixels, int width, int height, int channels,
                               int jpegQuality, char *err, size_t errlen) {
    if (!path || !pixels || width <= 0 || height <= 0 || (channels != 1 && channels != 3))
        return fail(err, errlen, FCV_EINVAL, "image_write: bad image %dx%dx%d", width, height, channels);
    return guarded(err, errlen, "writing image", [&] {
        cv::Mat m(height, width, channels == 1 ? CV_8UC1 : CV_8UC3, const_cast<uint8_t *>(pixels));
        std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, jpegQuality};
        if (!cv::imwrite(path, m, params))
            return fail(err, errlen, FCV_EDECODE, "could not write %s (unknown extension or unwritable folder)", path);
        return (int)FCV_OK;
    });
}

// ---- Video files ------------------------------------------------------------------------------

extern "C" int fcv_video_open(const char *path, fcv_video **out, char *err, size_t errlen) {
    *out = nullptr;
    if (!isReadableFile(path))
        return fail(err, errlen, FCV_ENOTFOUND, "video %s does not exist or is not a file", path ? path : "(null)");
    return guarded(err, errlen, "opening video", [&] {
        auto *v = new fcv_video();
        v->path = path;
        if (!openCapture(v->capture, path)) {
            delete v;
            return fail(err, errlen, FCV_EDECODE, "%s is not a video OpenCV can open", path);
        }
        *out = v;
        return (int)FCV_OK;
    });
}

extern "C" void fcv_video_info(fcv_video *video, int *width, int *height, double *fps, int64_t *frameCount) {
    try {
        *width = (int)video->capture.get(cv::CAP_PROP_FRAME_WIDTH);
        *height = (int)video->capture.get(cv::CAP_PROP_FRAME_HEIGHT);
        double rate = video->capture.get(cv::CAP_PROP_FPS);
        *fps = rate > 0 && rate < 1000 ? rate : 0;
        double n = video->capture.get(cv::CAP_PROP_FRAME_COUNT);
        *frameCount = n > 0 ? (int64_t)n : -1;
    } catch (...) {
        *width = *height = 0;
        *fps = 0;
        *frameCount = -1;
    }
}

extern "C" int fcv_video_read(fcv_video *video, uint8_t *bgr, size_t capacity, int *width, int *height, char *err,
                              size_t errlen) {
    return guarded(err, errlen, "decoding video frame", [&] {
        // A frame that did not fit last time is still held in `frame`.
        if (video->frame.empty()) {
            if (!video->capture.read(video->frame) || video->frame.empty()) return 0;
            if (video->frame.type() == CV_8UC1) cv::cvtColor(video->frame, video->frame, cv::COLOR_GRAY2BGR);
            if (video->frame.type() != CV_8UC3)
                return fail(err, errlen, FCV_EDECODE, "%s: frames are not 8-bit images", video->path.c_str());
        }
        *width = video->frame.cols;
        *height = video->frame.rows;
        size_t bytes = (size_t)video->frame.cols * video->frame.rows * 3;
        if (bytes > capacity)
            return fail(err, errlen, FCV_ECAPACITY, "frame of %dx%d needs %zu bytes, buffer has %zu", video->frame.cols,
                        video->frame.rows, bytes, capacity);
        copyPacked(video->frame, bgr);
        video->frame.release();
        return 1;
    });
}

extern "C" int fcv_video_rewind(fcv_video *video, char *err, size_t errlen) {
    return guarded(err, errlen, "rewinding video", [&] {
        video->frame.release();
        // Seeking is unreliable for some containers; reopening always starts at frame 0.
        video->capture.release();
        if (!openCapture(video->capture, video->path))
            return fail(err, errlen, FCV_EDECODE, "could not reopen %s to loop it", video->path.c_str());
        return (int)FCV_OK;
    });
}

extern "C" void fcv_video_close(fcv_video *video) {
    if (!video) return;
    try {
        video->capture.release();
    } catch (...) {
    }
    delete video;
}

extern "C" int fcv_video_writer_open(const char *path, const char *fourcc, double fps, int width, int height,
                                     fcv_video_writer **out, char *err, size_t errlen) {
    *out = nullptr;
    if (!path || !fourcc || std::strlen(fourcc) != 4 || fps <= 0 || width <= 0 || height <= 0)
        return fail(err, errlen, FCV_EINVAL, "video writer: bad arguments (fourcc '%s', %g fps, %dx%d)",
                    fourcc ? fourcc : "(null)", fps, width, height);
    return guarded(err, errlen, "opening video writer", [&] {
        auto *w = new fcv_video_writer();
        w->width = width;
        w->height = height;
        int code = cv::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]);
        if (!w->writer.open(path, code, fps, cv::Size(width, height), true) || !w->writer.isOpened()) {
            delete w;
            return fail(err, errlen, FCV_EDECODE, "could not open %s for writing with codec %s", path, fourcc);
        }
        *out = w;
        return (int)FCV_OK;
    });
}

extern "C" int fcv_video_writer_write(fcv_video_writer *writer, const uint8_t *bgr, char *err, size_t errlen) {
    return guarded(err, errlen, "writing video frame", [&] {
        cv::Mat m(writer->height, writer->width, CV_8UC3, const_cast<uint8_t *>(bgr));
        writer->writer.write(m);
        return (int)FCV_OK;
    });
}

extern "C" void fcv_video_writer_close(fcv_video_writer *writer) {
    if (!writer) return;
    try {
        writer->writer.release();
    } catch (...) {
    }
    delete writer;
}

extern "C" int fcv_draw_rectangle(uint8_t *bgr, int width, int height, int x, int y, int boxWidth, int boxHeight,
                                  const uint8_t color[3], int thickness, char *err, size_t errlen) {
    if (!bgr || width <= 0 || height <= 0)
        return fail(err, errlen, FCV_EINVAL, "draw_rectangle: bad image %dx%d", width, height);
    return guarded(err, errlen, "drawing a box", [&] {
        cv::Mat m(height, width, CV_8UC3, bgr);
        cv::rectangle(m, cv::Rect(x, y, boxWidth, boxHeight), cv::Scalar(color[0], color[1], color[2]),
                      thickness < 1 ? 1 : thickness);
        return (int)FCV_OK;
    });
}

extern "C" int fcv_draw_label(uint8_t *bgr, int width, int height, const char *text, int x, int y, int textHeight,
                              const uint8_t textColor[3], const uint8_t background[3], char *err, size_t errlen) {
    if (!bgr || !text || width <= 0 || height <= 0)
        return fail(err, errlen, FCV_EINVAL, "draw_label: bad image %dx%d", width, height);
    return guarded(err, errlen, "drawing a label", [&] {
        cv::Mat m(height, width, CV_8UC3, bgr);
        const int font = cv::FONT_HERSHEY_SIMPLEX;
        // FONT_HERSHEY_SIMPLEX at scale 1 is about 22 pixels from baseline to cap height.
        double scale = textHeight > 0 ? textHeight / 22.0 : 0.5;
        int thickness = scale >= 1 ? 2 : 1, baseline = 0;
        cv::Size size = cv::getTextSize(text, font, scale, thickness, &baseline);
        cv::Rect box(x, y, size.width + 4, size.height + baseline + 4);
        cv::rectangle(m, box, cv::Scalar(background[0], background[1], background[2]), cv::FILLED);
        cv::putText(m, text, cv::Point(x + 2, y + 2 + size.height), font, scale,
                    cv::Scalar(textColor[0], textColor[1], textColor[2]), thickness, cv::LINE_AA);
        return (int)FCV_OK;
    });
}
