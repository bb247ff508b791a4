package import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One value kept in one JSON file across restarts: the router's memory, a target's tracker state.
///
/// Saving is atomic (``AtomicFile``) with sorted keys and unescaped slashes, so the same value always gives the
/// same bytes. Loading never fails the caller: a file that cannot be decoded, or that a newer obwatch wrote, is
/// moved aside under a timestamped name and reported, and the caller starts afresh.
///
/// - Important: Loading and saving block on file I/O (small files, one `fsync` per save). Save one file from one
///   place at a time.
package struct StateFile<Value: Codable>: Sendable {
    /// How the name of a file moved aside is made from the file's name and the caller's timestamp.
    package enum AsideName: Sendable, Hashable {
        /// `routing.state` becomes `routing.state.corrupt-<timestamp>`.
        case appendingSuffix
        /// `db1.json` becomes `db1.corrupt-<timestamp>`.
        case replacingExtension
    }

    /// Why a file was not loaded.
    package enum Problem: Sendable, Hashable {
        /// A newer obwatch wrote it (its top-level `version` is above ``StateFile/newestVersion``).
        case newerVersion(Int)
        /// It is not a value of this type: the decoder's words.
        case undecodable(String)
    }

    /// A file that was set aside instead of loaded.
    package struct SetAside: Sendable, Hashable {
        /// Why it was not loaded.
        package var problem: Problem
        /// Where it went; `nil` when it could not be moved (it stays where it was and is ignored).
        package var movedTo: URL?
    }

    /// What ``load(timestamp:)`` found.
    package struct Loaded {
        /// The value; `nil` when there was no file or it was set aside.
        package var value: Value?
        /// Set when a file was there but could not be used.
        package var setAside: SetAside?
    }

    /// The file.
    package let url: URL
    /// The newest `version` this obwatch reads; `nil` when the value carries no version.
    package let newestVersion: Int?
    /// How a file moved aside is named.
    package let asideName: AsideName

    /// Makes a state file (its folder is created on the first save).
    /// - Parameters:
    ///   - url: The file.
    ///   - newestVersion: When set, a file whose top-level integer `version` is greater is set aside as
    ///     ``Problem/newerVersion(_:)`` before it is decoded: a newer format may not decode at all, and must not be
    ///     reported as corrupt.
    ///   - asideName: How a file moved aside is named.
    package init(url: URL, newestVersion: Int? = nil, asideName: AsideName = .appendingSuffix) {
        self.url = url
        self.newestVersion = newestVersion
        self.asideName = asideName
    }

    /// Where the file goes when it is set aside with `timestamp`.
    package func asideURL(timestamp: String) -> URL {
        switch self.asideName {
        case .appendingSuffix:
            self.url.appendingPathExtension("corrupt-" + timestamp)
        case .replacingExtension:
            self.url.deletingPathExtension().appendingPathExtension("corrupt-" + timestamp)
        }
    }

    /// Loads the value.
    ///
    /// A file that cannot be read at all (missing, or not readable by this user) counts as no file.
    /// - Parameter timestamp: The suffix for a file moved aside (the caller's clock, e.g. `20260101T020304Z`).
    package func load(timestamp: String) -> Loaded {
        guard let data = try? Data(contentsOf: self.url) else { return Loaded(value: nil, setAside: nil) }
        let problem: Problem
        if let newest = self.newestVersion, let probe = try? JSONDecoder().decode(VersionProbe.self, from: data),
            probe.version > newest
        {
            problem = .newerVersion(probe.version)
        } else {
            do {
                return Loaded(value: try JSONDecoder().decode(Value.self, from: data), setAside: nil)
            } catch {
                problem = .undecodable("\(error)")
            }
        }
        let aside = self.asideURL(timestamp: timestamp)
        let moved = rename(self.url.path, aside.path) == 0
        return Loaded(value: nil, setAside: SetAside(problem: problem, movedTo: moved ? aside : nil))
    }

    /// Saves the value atomically, keys sorted.
    /// - Throws: ``AtomicFileError`` `.unencodable` when the value cannot be encoded (nothing is written), or what
    ///   ``AtomicFile/store(_:at:)`` throws.
    package func save(_ value: Value) throws(AtomicFileError) {
        try AtomicFile.store(try self.encoded(value), at: self.url)
    }

    /// The bytes ``save(_:)`` writes for `value`.
    /// - Throws: ``AtomicFileError`` `.unencodable` when the value cannot be encoded.
    package func encoded(_ value: Value) throws(AtomicFileError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value)
        } catch {
            throw AtomicFileError(
                code: .unencodable,
                message: "cannot encode \(self.url.lastPathComponent)",
                file: self.url.path,
                cause: "\(error)"
            )
        }
    }
}

/// Just the `version` field of a state file.
private struct VersionProbe: Decodable {
    var version: Int
}
