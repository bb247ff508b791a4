package import Foundation
import Support

/// Saves and loads each target's ``TrackerState`` as `NAME.json` in one directory.
///
/// Writes are atomic (a temporary file in the same directory, `fsync`, `rename`, then an `fsync` of the
/// directory), so a crash leaves the old state or the new one, never half of one. A file that cannot be read, or
/// that a newer obwatch wrote, is moved aside as `NAME.corrupt-<timestamp>` and reported as a warning: the
/// target then starts from an empty state instead of the daemon failing.
///
/// - Important: Loading and saving block on file I/O (small files, one `fsync` per save); call them from a thread
///   that may block, or accept the short wait at start-up and on each save. Save one target from one place at a
///   time (its journal): the temporary file is named after the process, not the call.
package struct StateStore: Sendable {
    /// What ``load(target:timestamp:)`` found.
    package struct Loaded: Sendable {
        /// The state, or an empty one when there was none or it was unreadable.
        package var state: TrackerState
        /// Set when a file was moved aside, saying why and where it went.
        package var warning: String?
    }

    /// The directory holding the files.
    package let directory: URL

    /// Makes a store over a directory (created on the first save).
    package init(directory: URL) {
        self.directory = directory
    }

    /// The file of a target: its name with every byte that is not a letter, digit, `-`, `_` or `.` percent-encoded.
    package func fileURL(target: String) -> URL {
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
    package func load(target: String, timestamp: String) -> Loaded {
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
    package func load<Value: Codable>(
        _ type: Value.Type,
        target: String,
        timestamp: String
    ) -> (value: Value?, warning: String?) {
        let loaded = self.file(Value.self, target: target).load(timestamp: timestamp)
        guard let setAside = loaded.setAside else { return (loaded.value, nil) }
        let problem =
            switch setAside.problem {
            case .newerVersion(let version): "it was written by a newer obwatch (state version \(version))"
            case .undecodable: "it is not a readable state file"
            }
        let warning =
            if let aside = setAside.movedTo {
                "the state of \(target) was moved aside to \(aside.path) because \(problem); starting afresh"
            } else {
                "the state of \(target) at \(self.fileURL(target: target).path) is ignored because \(problem), "
                    + "and it could not be moved aside"
            }
        return (nil, warning)
    }

    /// Saves a target's state atomically.
    /// - Throws: ``TrackerError`` `.stateWriteFailed` when the directory or file cannot be written.
    package func save(_ state: TrackerState, target: String) throws(TrackerError) {
        try self.save(value: state, target: target)
    }

    /// Saves any value as a target's file, atomically.
    /// - Throws: ``TrackerError`` `.stateWriteFailed` when the directory or file cannot be written.
    package func save<Value: Codable>(value: Value, target: String) throws(TrackerError) {
        let url = self.fileURL(target: target)
        func failure(_ message: String, _ cause: String? = nil) -> TrackerError {
            TrackerError(code: .stateWriteFailed, message: message, file: url.path, cause: cause)
        }
        if let reason = AtomicFile.makeFolders(self.directory.path) {
            throw failure("cannot create the state directory \(self.directory.path)", reason)
        }
        do {
            try self.file(Value.self, target: target).save(value)
        } catch {
            throw error.code == .unencodable
                ? failure("cannot encode the state", error.cause) : failure(error.message, error.cause)
        }
    }

    /// A target's file: a newer version is refused before decoding, and a file set aside loses its `.json`.
    private func file<Value: Codable>(_ type: Value.Type, target: String) -> StateFile<Value> {
        StateFile(
            url: self.fileURL(target: target),
            newestVersion: TrackerState.currentVersion,
            asideName: .replacingExtension
        )
    }
}
