import ConfigModel
import Foundation
import History
import Logging
import Pipeline
import PostgresStore
import Support

/// The daemon's duration history: where it is kept, and loading it at start.
enum DaemonHistory {
    /// The history store that goes with the pipeline's storage: the `history` table with PostgreSQL, else
    /// `history.json` in the state folder.
    static func store(
        for storage: any PipelineStorage,
        stateDirectory: URL,
        clock: any ObwatchClock
    ) -> any HistoryStore {
        if let postgres = storage as? PostgresPipelineStorage {
            return PostgresHistoryStore(store: postgres.store)
        }
        return HistoryFile(folder: stateDirectory) { String(Int64(clock.wallNow.timeIntervalSince1970)) }
    }

    /// Loads the history for the daemon's poll loops, then backfills it from every target's finished DAGs
    /// (``HistoryBackfill``; each target's requests are bounded by its `timeout`). A history that cannot be read is
    /// logged and started empty: history only makes estimates, and obshell's own finished DAGs refill it.
    static func open(
        targets: [ObwatchConfig.Target],
        storage: any PipelineStorage,
        stateDirectory: URL,
        clock: any ObwatchClock,
        logger: Logger
    ) async -> HistoryBook {
        let store = Self.store(for: storage, stateDirectory: stateDirectory, clock: clock)
        let book: HistoryBook
        do {
            book = HistoryBook(history: try await store.load(), store: store, clock: clock)
        } catch {
            logger.warning("duration history not loaded, starting without it: \(error)")
            book = HistoryBook(store: store, clock: clock)
        }
        _ = await HistoryBackfill.run(targets: targets, book: book, clock: clock, logger: logger)
        return book
    }
}
