public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a child's pipe to its end on a thread of its own, with blocking reads.
///
/// Why not `FileHandle.readabilityHandler`: it arms a libdispatch read source per pipe, and on Linux tearing many of
/// them down at once (a suite that starts and stops child processes in parallel) corrupts libdispatch's epoll
/// bookkeeping and crashes its manager thread with SIGSEGV, or loses a pipe's end of file
/// (swift-corelibs-libdispatch issue 949). A blocking read never registers the descriptor with libdispatch.
public enum PipeDrain {
    /// Starts reading `handle` until its end.
    /// - Parameters:
    ///   - handle: The read end of a pipe; kept open (and alive) until its end is read.
    ///   - onData: Each chunk as it arrives, in order, on the reading thread.
    ///   - onEnd: Once, after the last chunk: the writer closed its end (or the read failed).
    public static func start(
        _ handle: FileHandle,
        onData: @escaping @Sendable (Data) -> Void,
        onEnd: @escaping @Sendable () -> Void
    ) {
        let thread = Thread {
            let descriptor = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    onData(Data(buffer[0..<count]))
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            // Referenced here so the handle (and its descriptor) outlives the loop.
            _ = handle
            onEnd()
        }
        thread.name = "pipe-drain"
        thread.start()
    }
}
