// The one seam to libv4l2: v4l2_open, v4l2_ioctl, v4l2_mmap, ... behind `V4L2Device`, each call
// turning -1/errno into a `V4L2CallError`. `SystemV4L2` is the real library; tests substitute a
// fake device here to exercise V4L2Camera's negotiation, streaming and error paths.

import CV4L2
import Foundation

/// A libv4l2 call that failed: which call, on what, and errno.
public struct V4L2CallError: Error, CustomStringConvertible, Equatable {
    public var call: String
    public var path: String
    public var errno: Int32
    public init(call: String, path: String, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }
    public var description: String { "\(call) on \(path) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The libv4l2 calls V4L2Camera makes. Requests are the VIDIOC_* codes from CV4L2.
public protocol V4L2Device: AnyObject {
    /// v4l2_open(path, O_RDWR | O_NONBLOCK): a file descriptor with libv4l2's conversion on it.
    func open(_ path: String) throws -> Int32
    func close(_ fd: Int32)
    /// v4l2_ioctl; `arg` points at the request's struct, read and written in place.
    func ioctl(_ fd: Int32, _ request: UInt, _ arg: UnsafeMutableRawPointer) throws
    /// v4l2_mmap of a driver buffer (PROT_READ | PROT_WRITE, MAP_SHARED).
    func mmap(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer
    func munmap(_ address: UnsafeMutableRawPointer, length: Int)
    /// Waits up to `timeout` seconds for a frame; false on timeout.
    func waitReadable(_ fd: Int32, timeout: Double) throws -> Bool
    /// True when `path` is a character device (cameras are; /dev/null is too, files are not).
    func isCharacterDevice(_ path: String) -> Bool
}

/// The real libv4l2.
public final class SystemV4L2: V4L2Device {
    private var paths: [Int32: String] = [:]

    public init() {}

    public func open(_ path: String) throws -> Int32 {
        // Ask the kernel first whether this is a V4L2 node: libv4l2 would print its own error
        // for /dev/null and the like, and ours says it better.
        let probe = cv4l2_plain_open(path, O_RDWR | O_NONBLOCK)
        if probe < 0 { throw V4L2CallError(call: "open", path: path, errno: errno) }
        var cap = v4l2_capability()
        let rc = cv4l2_kernel_ioctl(probe, CV4L2_VIDIOC_QUERYCAP, &cap)
        let probeErrno = errno
        _ = Glibc.close(probe)
        if rc < 0 { throw V4L2CallError(call: "VIDIOC_QUERYCAP", path: path, errno: probeErrno) }
        let fd = cv4l2_open(path, O_RDWR | O_NONBLOCK)
        if fd < 0 { throw V4L2CallError(call: "v4l2_open", path: path, errno: errno) }
        paths[fd] = path
        return fd
    }

    public func close(_ fd: Int32) {
        _ = v4l2_close(fd)
        paths[fd] = nil
    }

    public func ioctl(_ fd: Int32, _ request: UInt, _ arg: UnsafeMutableRawPointer) throws {
        while cv4l2_ioctl(fd, request, arg) < 0 {
            let e = errno
            if e == EINTR { continue }
            throw V4L2CallError(call: SystemV4L2.name(of: request), path: paths[fd] ?? "fd \(fd)", errno: e)
        }
    }

    public func mmap(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        let p = v4l2_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(offset))
        guard let p, p != MAP_FAILED else {
            throw V4L2CallError(call: "v4l2_mmap", path: paths[fd] ?? "fd \(fd)", errno: errno)
        }
        return p
    }

    public func munmap(_ address: UnsafeMutableRawPointer, length: Int) {
        _ = v4l2_munmap(address, length)
    }

    public func waitReadable(_ fd: Int32, timeout: Double) throws -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let rc = poll(&p, 1, Int32(timeout * 1000))
            if rc < 0 && errno == EINTR { continue }
            if rc < 0 { throw V4L2CallError(call: "poll", path: paths[fd] ?? "fd \(fd)", errno: errno) }
            if rc > 0 && p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                throw V4L2CallError(call: "poll", path: paths[fd] ?? "fd \(fd)", errno: ENODEV)
            }
            return rc > 0
        }
    }

    public func isCharacterDevice(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
    }

    static func name(of request: UInt) -> String {
        let names: [UInt: String] = [
            CV4L2_VIDIOC_QUERYCAP: "VIDIOC_QUERYCAP", CV4L2_VIDIOC_ENUM_FMT: "VIDIOC_ENUM_FMT",
            CV4L2_VIDIOC_ENUM_FRAMESIZES: "VIDIOC_ENUM_FRAMESIZES", CV4L2_VIDIOC_G_FMT: "VIDIOC_G_FMT",
            CV4L2_VIDIOC_S_FMT: "VIDIOC_S_FMT", CV4L2_VIDIOC_S_PARM: "VIDIOC_S_PARM",
            CV4L2_VIDIOC_G_PARM: "VIDIOC_G_PARM",
            CV4L2_VIDIOC_REQBUFS: "VIDIOC_REQBUFS", CV4L2_VIDIOC_QUERYBUF: "VIDIOC_QUERYBUF",
            CV4L2_VIDIOC_QBUF: "VIDIOC_QBUF", CV4L2_VIDIOC_DQBUF: "VIDIOC_DQBUF",
            CV4L2_VIDIOC_STREAMON: "VIDIOC_STREAMON", CV4L2_VIDIOC_STREAMOFF: "VIDIOC_STREAMOFF",
        ]
        return names[request] ?? "ioctl 0x\(String(request, radix: 16))"
    }
}
