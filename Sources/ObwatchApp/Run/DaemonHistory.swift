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

    /// Loads the history for the daemon's poll loops. A history that cannot be read is logged and started empty:
    /// history only makes estimates, and obshell's own finished DAGs refill it (``backfill(targets:book:clock:logger:)``).
    static func open(
        storage: any PipelineStorage,
        stateDirectory: URL,
        clock: any ObwatchClock,
        logger: Logger
    ) async -> HistoryBook {
        let store = Self.store(for: storage, stateDirectory: stateDirectory, clock: clock)
        do {
            return HistoryBook(history: try await store.load(), store: store, clock: clock)
        } catch {
            logger.warning("duration history not loaded, starting without it: \(error)")
            return HistoryBook(store: store, clock: clock)
        }
    }

    /// How many targets the daemon's backfill reads at once.
    static let backfillWidth = 4

    /// Backfills `book` from every target's finished DAGs (``HistoryBackfill``), ``backfillWidth`` targets at a
    /// time. The daemon runs it beside its polls, not before them: each target's two lists with details are the
    /// largest answers an agent gives, and all targets' at once were the daemon's start-up peak of memory and held
    /// back every first poll until the slowest agent had answered.
    static func backfill(
        targets: [ObwatchConfig.Target],
        book: HistoryBook,
        clock: any ObwatchClock,
        logger: Logger
    ) async {
        _ = await HistoryBackfill.run(
            targets: targets,
            book: book,
            clock: clock,
            logger: logger,
            width: Self.backfillWidth
        )
    }
}
