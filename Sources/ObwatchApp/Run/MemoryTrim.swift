#if canImport(Glibc)
import Glibc
#endif

/// Gives the pages that the C allocator holds free back to the system.
///
/// Every poll replaces each target's state and frees the answer it decoded, from whichever thread ran it, so
/// glibc's per-thread arenas end up with free pages scattered between live ones that it keeps for reuse. With
/// thousands of targets that was a third of the daemon's memory. `malloc_trim(0)` returns them (it walks every
/// arena in a few milliseconds); the run loop calls it every 30 seconds.
enum MemoryTrim {
    private typealias Trim = @convention(c) (Int) -> Int32

    /// glibc's `malloc_trim`, looked up at run time: `<malloc.h>` is not part of the Glibc module. `nil` on a C
    /// library without it (musl), where there is nothing to do.
    private static let trim: Trim? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: Trim.self)
        #else
        return nil
        #endif
    }()

    static func releaseFreePages() {
        _ = self.trim?(0)
    }
}
