package import ConfigModel
package import Foundation
package import ObshellModel
package import Support
import Synchronization

/// Where run-time silences (`obwatch silence add`) are kept: the state folder's `silences.state`, or PostgreSQL's
/// `silence` table with `store: postgres` (shared by every replica).
package protocol SilenceStorage: Sendable {
    /// Every stored silence, expired ones included, oldest first.
    /// - Throws: ``StorageError`` when the store cannot be read.
    func loadSilences() async throws(StorageError) -> [RuntimeSilence]
    /// Adds a silence, or replaces the one with its id (an expiry).
    /// - Throws: ``StorageError`` when the store cannot be written; nothing changed then.
    func saveSilence(_ silence: RuntimeSilence) async throws(StorageError)
    /// Forgets silences that ended before `instant` (expired ones stay listable until then).
    /// - Throws: ``StorageError`` when the store cannot be written.
    func pruneSilences(endedBefore instant: ObshellTime) async throws(StorageError)
}

/// Run-time silences in one JSON file of the state folder, `silences.state`, written atomically.
package final class LocalSilenceFile: SilenceStorage {
    /// What the file holds.
    struct Contents: Codable, Sendable {
        static let currentVersion = 1
        var version = Self.currentVersion
        var silences: [RuntimeSilence] = []
    }

    /// The file in a state folder; target files end in `.json`, so no target can collide.
    package static func file(in folder: URL) -> URL { folder.appendingPathComponent("silences.state") }

    private let file: StateFile<Contents>
    private let clock: any ObwatchClock
    /// Serializes read-modify-write: the API's requests come from many tasks.
    private let lock = Mutex(())

    /// Makes the store over `state_dir` (the file is created on the first save).
    /// - Parameters:
    ///   - directory: `state_dir`.
    ///   - clock: Names a file set aside (its wall time).
    package init(directory: URL, clock: any ObwatchClock) {
        self.file = StateFile(
            url: Self.file(in: directory),
            newestVersion: Contents.currentVersion,
            asideName: .appendingSuffix
        )
        self.clock = clock
    }

    package func loadSilences() async throws(StorageError) -> [RuntimeSilence] {
        try self.lock.withLock { _ throws(StorageError) in try self.read() }
    }

    package func saveSilence(_ silence: RuntimeSilence) async throws(StorageError) {
        try self.lock.withLock { _ throws(StorageError) in
            var silences = try self.read()
            if let index = silences.firstIndex(where: { $0.id == silence.id }) {
                silences[index] = silence
            } else {
                silences.append(silence)
            }
            try self.write(silences)
        }
    }

    package func pruneSilences(endedBefore instant: ObshellTime) async throws(StorageError) {
        try self.lock.withLock { _ throws(StorageError) in
            let silences = try self.read()
            let kept = silences.filter { $0.effectiveEnd.isLater(than: instant) }
            if kept.count != silences.count { try self.write(kept) }
        }
    }

    private func read() throws(StorageError) -> [RuntimeSilence] {
        let loaded = self.file.load(timestamp: "\(Int(self.clock.wallNow.timeIntervalSince1970))")
        if let setAside = loaded.setAside {
            // Starting with no silences would send what someone asked to be quiet: refuse, and say where it went.
            let place = setAside.movedTo?.path ?? self.file.url.path
            throw StorageError(reason: "the silences file is unreadable (set aside as \(place)): \(setAside.problem)")
        }
        return loaded.value?.silences ?? []
    }

    private func write(_ silences: [RuntimeSilence]) throws(StorageError) {
        do {
            try self.file.save(Contents(silences: silences))
        } catch {
            throw StorageError(reason: error.message + (error.cause.map { ": " + $0 } ?? ""))
        }
    }
}
