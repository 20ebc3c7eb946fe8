// libv4l2 (v4l2_open/v4l2_ioctl/v4l2_mmap with format conversion) and the V4L2 kernel API.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/videodev2.h>
#include <libv4l2.h>
