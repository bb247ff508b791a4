import Foundation
import Support

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one-instance lock of a state folder: an exclusive `flock` on `state_dir/obwatch.lock`, held for as long as the
/// process runs (the kernel releases it when the process dies, however it dies, so a crash never leaves a stale lock).
///
/// Two daemons on one state folder would both poll and both send, and each would overwrite the other's state: the
/// lock is taken before anything else happens, and a second `run` exits at once having polled and sent nothing. The
/// file holds the holder's pid, for the second one's message.
final class StateDirectoryLock: Sendable {
    /// The folder that is locked.
    let directory: String
    private let descriptor: Int32

    /// The lock file's name inside the state folder.
    static let fileName = "obwatch.lock"

    /// Creates the folder when missing and takes its lock.
    /// - Throws: ``RunError`` `.stateDirectoryInUse` (with the holder's pid) when another process holds it, or
    ///   `.stateDirectoryUnusable` when the folder or the lock file cannot be made, in plain words.
    init(directory: String) throws(RunError) {
        if let reason = AtomicFile.makeFolders(directory) {
            throw RunError(code: .stateDirectoryUnusable, message: "state_dir \(directory): \(reason)")
        }
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        // Read-only: a descriptor open for writing for the process's lifetime would keep an operator from remounting
        // the folder read-only (EBUSY); flock needs no write access, and the pid is written through a second one.
        let descriptor = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw RunError(
                code: .stateDirectoryUnusable,
                message: "state_dir \(directory): cannot open \(Self.fileName): \(Self.lastError())"
            )
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = Self.lastError()
            let holder = Self.holder(descriptor)
            close(descriptor)
            if busy {
                let who = holder.map { "obwatch pid \($0)" } ?? "another obwatch"
                throw RunError(
                    code: .stateDirectoryInUse,
                    message: "state_dir \(directory) is in use by \(who); stop it first, or give this one another "
                        + "state_dir"
                )
            }
            throw RunError(
                code: .stateDirectoryUnusable,
                message: "state_dir \(directory): cannot lock \(Self.fileName): \(reason)"
            )
        }
        // The pid is written after the lock is ours; a reader that finds the file empty just says "another obwatch".
        let text = "\(getpid())\n"
        let writer = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        if writer >= 0 {
            _ = text.withCString { write(writer, $0, strlen($0)) }
            close(writer)
        }
        self.directory = directory
        self.descriptor = descriptor
    }

    deinit {
        close(self.descriptor)
    }

    /// The pid written in a lock file, if it holds one.
    private static func holder(_ descriptor: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int(text)
    }

    private static func lastError() -> String { SystemError.words(errno) }
}
