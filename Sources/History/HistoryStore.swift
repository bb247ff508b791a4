package import Foundation
package import Support

/// Where the duration history is kept across restarts: a file in the state folder (``HistoryFile``) or, with the
/// PostgreSQL store, a table shared by replicas.
package protocol HistoryStore: Sendable {
    /// The history kept so far; empty when there is none yet. A file that cannot be read is set aside and an empty
    /// history returned (history is a cache of what obshell already knows; backfill rebuilds it).
    func load() async throws(HistoryStoreError) -> DurationHistory
    /// Keeps `history`, replacing what was kept.
    func save(_ history: DurationHistory) async throws(HistoryStoreError)
}

/// Why the history could not be kept or read.
package struct HistoryStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, without secrets.
    package var message: String

    /// Makes an error.
    package init(_ message: String) { self.message = message }

    /// The message.
    package var description: String { self.message }
}

/// The history in `history.json` of the state folder, written atomically.
package struct HistoryFile: HistoryStore {
    /// The file's name in the state folder.
    package static let fileName = "history.json"

    /// The file.
    package let file: StateFile<DurationHistory>
    /// The suffix of a file set aside (the caller's clock), e.g. `20260101T020304Z`.
    private let asideTimestamp: @Sendable () -> String

    /// The history file of a state folder.
    /// - Parameters:
    ///   - folder: The state folder.
    ///   - asideTimestamp: Makes the suffix for a file that must be set aside.
    package init(folder: URL, asideTimestamp: @escaping @Sendable () -> String) {
        self.init(url: folder.appendingPathComponent(Self.fileName), asideTimestamp: asideTimestamp)
    }

    /// A history file anywhere (`history export`, `replay --history`).
    package init(url: URL, asideTimestamp: @escaping @Sendable () -> String) {
        self.file = StateFile(url: url, newestVersion: DurationHistory.currentVersion)
        self.asideTimestamp = asideTimestamp
    }

    /// Reads the file; a missing, unreadable or newer file reads as empty (and an unusable one is set aside). A
    /// history made with another ``NameTemplates/version`` is dropped: its keys would not match.
    package func load() async throws(HistoryStoreError) -> DurationHistory {
        self.loadNow()
    }

    /// ``load()`` without suspending, for commands that read an exported file.
    package func loadNow() -> DurationHistory {
        guard let history = self.file.load(timestamp: self.asideTimestamp()).value,
            history.templatesVersion == NameTemplates.version
        else { return DurationHistory() }
        return history
    }

    /// Reads an exported history without touching the file (a bad file is the user's, not set aside).
    /// - Throws: ``HistoryStoreError`` when the file cannot be read, is not a history, or was made with another
    ///   ``NameTemplates/version`` or by a newer obwatch.
    package static func read(contentsOf url: URL) throws(HistoryStoreError) -> DurationHistory {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw HistoryStoreError("\(url.path): cannot read the file")
        }
        let history: DurationHistory
        do {
            history = try JSONDecoder().decode(DurationHistory.self, from: data)
        } catch {
            throw HistoryStoreError("\(url.path): not a history exported by obwatch history export")
        }
        guard history.version <= DurationHistory.currentVersion, history.templatesVersion == NameTemplates.version
        else {
            throw HistoryStoreError(
                "\(url.path): made by another obwatch (format \(history.version), templates \(history.templatesVersion));"
                    + " export it again with this one"
            )
        }
        return history
    }

    /// Writes the file atomically.
    package func save(_ history: DurationHistory) async throws(HistoryStoreError) {
        do {
            try self.file.save(history)
        } catch {
            throw HistoryStoreError("cannot save the duration history: \(error)")
        }
    }
}
