public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Saves and loads each target's ``TrackerState`` as `NAME.json` in one directory.
///
/// Writes are atomic (a temporary file in the same directory, `fsync`, `rename`, then an `fsync` of the
/// directory), so a crash leaves the old state or the new one, never half of one. A file that cannot be read, or
/// that a newer obwatch wrote, is moved aside as `NAME.corrupt-<timestamp>` and reported as a warning: the
/// target then starts from an empty state instead of the daemon failing.
///
/// - Important: Loading and saving block on file I/O (small files, one `fsync` per save); call them from a thread
///   that may block, or accept the short wait at start-up and on each save. Save one target from one place at a
///   time (its poller): the temporary file is named after the process, not the call.
public struct StateStore: Sendable {
    /// What ``load(target:timestamp:)`` found.
    public struct Loaded: Sendable {
        /// The state, or an empty one when there was none or it was unreadable.
        public var state: TrackerState
        /// Set when a file was moved aside, saying why and where it went.
        public var warning: String?
    }

    /// The directory holding the files.
    public let directory: URL

    /// Makes a store over a directory (created on the first save).
    public init(directory: URL) {
        self.directory = directory
    }

    /// The file of a target: its name with every byte that is not a letter, digit, `-`, `_` or `.` percent-encoded.
    public func fileURL(target: String) -> URL {
        var name = ""
        for byte in target.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80,
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.".contains(Character(scalar))
            {
                name.append(Character(scalar))
            } else {
                name += String(format: "%%%02X", byte)
            }
        }
        if name.hasPrefix(".") { name = "%2E" + name.dropFirst() }
        return self.directory.appendingPathComponent(name + ".json")
    }

    /// Loads a target's state.
    /// - Parameters:
    ///   - target: The target's name.
    ///   - timestamp: The suffix for a file moved aside (the caller's clock, e.g. `20260101T020304Z`).
    /// - Returns: The state (empty when there is none) and a warning when a file was moved aside.
    public func load(target: String, timestamp: String) -> Loaded {
        let loaded = self.load(TrackerState.self, target: target, timestamp: timestamp)
        return Loaded(state: loaded.value ?? TrackerState(), warning: loaded.warning)
    }

    /// Loads a target's file as any value that carries the state's `version` (the state itself, or the state with
    /// what goes with it).
    /// - Parameters:
    ///   - type: What the file holds.
    ///   - target: The target's name.
    ///   - timestamp: The suffix for a file moved aside.
    /// - Returns: The value (`nil` when there is none, or it was moved aside) and a warning when a file was moved
    ///   aside.
    public func load<Value: Decodable>(
        _ type: Value.Type,
        target: String,
        timestamp: String
    ) -> (value: Value?, warning: String?) {
        let url = self.fileURL(target: target)
        guard let data = try? Data(contentsOf: url) else { return (nil, nil) }
        let problem: String
        if let probe = try? JSONDecoder().decode(VersionProbe.self, from: data),
            probe.version > TrackerState.currentVersion
        {
            // Checked first: a newer format may not decode at all, and must not be reported as corrupt.
            problem = "it was written by a newer obwatch (state version \(probe.version))"
        } else if let value = try? JSONDecoder().decode(Value.self, from: data) {
            return (value, nil)
        } else {
            problem = "it is not a readable state file"
        }
        let aside = url.deletingPathExtension().appendingPathExtension("corrupt-" + timestamp)
        let moved = rename(url.path, aside.path) == 0
        let warning =
            moved
            ? "the state of \(target) was moved aside to \(aside.path) because \(problem); starting afresh"
            : "the state of \(target) at \(url.path) is ignored because \(problem), and it could not be moved aside"
        return (nil, warning)
    }

    /// Saves a target's state atomically.
    /// - Throws: ``TrackerError`` `.stateWriteFailed` when the directory or file cannot be written.
    public func save(_ state: TrackerState, target: String) throws(TrackerError) {
        try self.save(value: state, target: target)
    }

    /// Saves any value as a target's file, atomically.
    /// - Throws: ``TrackerError`` `.stateWriteFailed` when the directory or file cannot be written.
    public func save<Value: Encodable>(value: Value, target: String) throws(TrackerError) {
        let url = self.fileURL(target: target)
        func failure(_ message: String, _ cause: String? = nil) -> TrackerError {
            TrackerError(code: .stateWriteFailed, message: message, file: url.path, cause: cause)
        }
        if let reason = AtomicFile.makeFolders(self.directory.path) {
            throw failure("cannot create the state directory \(self.directory.path)", reason)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw failure("cannot encode the state", "\(error)")
        }
        try AtomicFile.store(data, at: url)
    }
}

/// Writes a file so that a reader sees the old content or the new, never a mix, even after a crash or power loss:
/// a temporary file beside it, fsync, rename, fsync of the folder.
public enum AtomicFile {
    /// Replaces the file at `url` with `data`.
    /// - Throws: ``TrackerError`` `.stateWriteFailed` when it cannot be written.
    public static func store(_ data: Data, at url: URL) throws(TrackerError) {
        func failure(_ message: String, _ cause: String? = nil) -> TrackerError {
            TrackerError(code: .stateWriteFailed, message: message, file: url.path, cause: cause)
        }
        let folder = url.deletingLastPathComponent()
        if let reason = Self.makeFolders(folder.path) {
            throw failure("cannot create the folder \(folder.path)", reason)
        }
        let temporary = url.path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            throw failure("cannot create \(temporary)", SystemError.words(errno))
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
            throw failure("cannot write \(temporary)", reason)
        }
        guard rename(temporary, url.path) == 0 else {
            let reason = SystemError.words(errno)
            unlink(temporary)
            throw failure("cannot rename \(temporary)", reason)
        }
        let directory = open(folder.path, O_RDONLY)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }
}

/// A system error in the words an operator reads after a colon: `strerror`'s text with a lower-case first letter
/// (`read-only file system`, `permission denied`), never a Foundation error dump.
public enum SystemError {
    /// The words for `code` (an `errno` value).
    public static func words(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        let message = String(cString: text)
        return message.prefix(1).lowercased() + message.dropFirst()
    }
}

extension AtomicFile {
    /// Creates a folder and its missing parents (0700), like `mkdir -p`.
    /// - Returns: `nil` when the folder exists or was made, else the system's reason in plain words
    ///   (`permission denied`, `read-only file system`, `not a directory`), never a Foundation error dump.
    public static func makeFolders(_ path: String) -> String? {
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

/// Just the `version` field of a state file.
private struct VersionProbe: Decodable {
    var version: Int
}
