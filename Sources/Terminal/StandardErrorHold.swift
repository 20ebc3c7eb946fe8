// While the screen is open, what libraries print to standard error (OpenCV and libpng on a broken
// image, the V4L2 library on a camera hiccup) would be drawn over the picture. It goes to an
// unlinked temporary file instead, and is shown after the terminal is restored.

import Foundation
import Glibc

enum StandardErrorHold {
    /// The real standard error while held (-1 when not): the crash handler puts it back too.
    nonisolated(unsafe) static var realStandardError: Int32 = -1
    nonisolated(unsafe) private static var holding: Int32 = -1

    /// Points fd 2 at a fresh anonymous file; does nothing if that cannot be done.
    static func begin() {
        guard realStandardError < 0 else { return }
        var template = Array((NSTemporaryDirectory() + "/fertui-stderr-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let saved = dup(STDERR_FILENO)
        guard saved >= 0, dup2(fd, STDERR_FILENO) >= 0 else {
            Glibc.close(fd)
            if saved >= 0 { Glibc.close(saved) }
            return
        }
        realStandardError = saved
        holding = fd
    }

    /// Gives fd 2 back and returns what was printed meanwhile (at most `limit` bytes, the last).
    static func end(limit: Int = 16_384) -> String {
        guard realStandardError >= 0 else { return "" }
        fflush(stderr)
        dup2(realStandardError, STDERR_FILENO)
        Glibc.close(realStandardError)
        realStandardError = -1
        let size = lseek(holding, 0, SEEK_END)
        var text = ""
        if size > 0 {
            let count = Int(min(Int64(limit), Int64(size)))
            lseek(holding, off_t(Int64(size) - Int64(count)), SEEK_SET)
            var buffer = [UInt8](repeating: 0, count: count)
            let n = read(holding, &buffer, count)
            if n > 0 { text = String(decoding: buffer.prefix(n), as: UTF8.self) }
            if Int64(size) > Int64(count) { text = "[...]\n" + text }
        }
        Glibc.close(holding)
        holding = -1
        return text
    }
}
