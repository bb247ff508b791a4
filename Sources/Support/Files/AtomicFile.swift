package import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that a reader sees the old content or the new, never a mix, even after a crash or power loss:
/// a temporary file beside it, fsync, rename, fsync of the folder.
///
/// - Important: The temporary file is named after the process, not the call: write one file from one place at a
///   time.
package enum AtomicFile {
    /// Replaces the file at `url` with `data`, creating its folder (and missing parents) first.
    /// - Throws: ``AtomicFileError`` `.folderUnusable` when the folder cannot be made, `.writeFailed` when the file
    ///   cannot be written.
    package static func store(_ data: Data, at url: URL) throws(AtomicFileError) {
        let folder = url.deletingLastPathComponent()
        if let reason = Self.makeFolders(folder.path) {
            throw AtomicFileError(
                code: .folderUnusable,
                message: "cannot create the folder \(folder.path)",
                file: url.path,
                cause: reason
            )
        }
        func writeFailure(_ message: String, _ reason: String) -> AtomicFileError {
            AtomicFileError(code: .writeFailed, message: message, file: url.path, cause: reason)
        }
        let temporary = url.path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            throw writeFailure("cannot create \(temporary)", SystemError.words(errno))
        }
        var ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                guard let base = buffer.baseAddress else { return false }
                let written = write(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
        ok = ok && fsync(descriptor) == 0
        let closed = close(descriptor) == 0
        guard ok, closed else {
            let reason = SystemError.words(errno)
            unlink(temporary)
            throw writeFailure("cannot write \(temporary)", reason)
        }
        guard rename(temporary, url.path) == 0 else {
            let reason = SystemError.words(errno)
            unlink(temporary)
            throw writeFailure("cannot rename \(temporary)", reason)
        }
        let directory = open(folder.path, O_RDONLY)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    /// Creates a folder and its missing parents (0700), like `mkdir -p`.
    /// - Returns: `nil` when the folder exists or was made, else the system's reason in plain words
    ///   (`permission denied`, `read-only file system`, `not a directory`), never a Foundation error dump.
    package static func makeFolders(_ path: String) -> String? {
        var isFolder = stat()
        if stat(path, &isFolder) == 0 {
            return (isFolder.st_mode & S_IFMT) == S_IFDIR ? nil : SystemError.words(ENOTDIR)
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path, let reason = Self.makeFolders(parent) { return reason }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { return SystemError.words(errno) }
        return nil
    }
}
