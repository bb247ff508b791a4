import ConfigModel
import Foundation
import Support
import Tracker

/// Whether obwatch can keep its state in a folder: `check` refuses a `state_dir` it could not use, and `run` asks
/// again at start, when the answer is the one that counts.
///
/// Permission bits do not tell (root passes every `access(W_OK)`, a read-only mount fails whatever the bits say),
/// so the check really writes: a probe file in the folder, or, when the folder does not exist yet, in the nearest
/// folder above it that does (where the state folder would be created). The state folder itself is never created.
package enum StateDirectoryCheck {
    /// Why `path` cannot be used as the state folder, in plain lower-case words such as `permission denied`,
    /// `not a directory` or `read-only file system`; `nil` when it can.
    /// - Parameter path: The folder; relative paths are taken from the current directory.
    package static func problem(path: String) -> String? {
        guard !path.isEmpty, !path.utf8.contains(0) else { return SystemError.words(EINVAL) }
        var info = stat()
        if stat(path, &info) == 0 {
            guard Self.isDirectory(info) else { return SystemError.words(ENOTDIR) }
            return Self.probe(in: path)
        }
        let lookup = errno
        guard lookup == ENOENT else { return SystemError.words(lookup) }
        // Missing: the nearest existing folder above it is where `run` would create it.
        var ancestor = path
        while true {
            let parent = (ancestor as NSString).deletingLastPathComponent
            ancestor = parent.isEmpty ? "." : parent
            if stat(ancestor, &info) == 0 { break }
            let error = errno
            guard error == ENOENT, ancestor != "." && ancestor != "/" else { return SystemError.words(error) }
        }
        guard Self.isDirectory(info) else { return SystemError.words(ENOTDIR) }
        return Self.probe(in: ancestor).map { "cannot be created in \(ancestor): \($0)" }
    }

    private static func isDirectory(_ info: stat) -> Bool {
        (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates and deletes a file in `folder`; the reason when that fails.
    private static func probe(in folder: String) -> String? {
        // Unique per call, not only per process: checks of the same folder may run at once (reloads, tests), and
        // one's unlink must not take the other's file.
        let file = (folder as NSString).appendingPathComponent(
            ".obwatch-write-check-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        )
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return SystemError.words(errno) }
        close(descriptor)
        guard unlink(file) == 0 else { return SystemError.words(errno) }
        return nil
    }

}
