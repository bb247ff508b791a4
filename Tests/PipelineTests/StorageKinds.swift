import ConfigModel
import Foundation
import Logging
import PeerSupport
import Pipeline
import PostgresStore
import Support
import Synchronization
import Testing

/// The stores the pipeline runs on. The tests that pin its guarantees (the group commit, the crash-safe hand-off)
/// run on each; PostgreSQL's case is left out only where its server binaries are not installed (PostgresStoreTests
/// then reports the skip with the reason).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case local
    case postgres

    /// The kinds this machine can run.
    static var available: [StoreKind] { PostgresServer.isAvailable ? Self.allCases : [.local] }

    var testDescription: String { self.rawValue }
}

/// One place where a test's state lives, of one kind: a folder, or a fresh schema on the shared PostgreSQL
/// server (migrated). ``storage(clock:)`` opens it; opening it again is what a restarted process does.
final class StoragePlace: Sendable {
    let kind: StoreKind
    let folder: URL
    private let settings: PostgresSettings?
    private let opened = Mutex<[PostgresStore]>([])

    private init(kind: StoreKind, folder: URL, settings: PostgresSettings?) {
        self.kind = kind
        self.folder = folder
        self.settings = settings
    }

    /// A new place; for PostgreSQL, a schema of its own, migrated.
    static func make(_ kind: StoreKind, folder: URL) async throws -> StoragePlace {
        guard kind == .postgres else { return StoragePlace(kind: kind, folder: folder, settings: nil) }
        let server = try await PostgresServer.shared()
        let settings = PostgresSettings(
            host: server.host,
            port: server.port,
            user: server.user,
            password: Secret(server.password),
            database: server.database,
            schema: PostgresServer.uniqueSchema(),
            tls: PostgresSettings.TLS(mode: .disable),
            poolSize: 2
        )
        let place = StoragePlace(kind: kind, folder: folder, settings: settings)
        let store = try place.openStore()
        _ = try await store.migrate(appliedBy: "test")
        return place
    }

    /// A storage over the place, as a new process would open it.
    func storage(clock: any ObwatchClock) throws -> any PipelineStorage {
        guard self.settings != nil else { return LocalStateFolder(directory: self.folder, clock: clock) }
        return PostgresPipelineStorage(store: try self.openStore())
    }

    /// The store's routing step over the place, as a new process would open it: for the folder, the outbox (here
    /// `deliver`) then `routing.state`; for PostgreSQL, one transaction with the shared outbox (`deliver` unused).
    func routingCommit(
        clock: any ObwatchClock,
        deliver: @escaping LocalRoutingCommit.Deliver
    ) throws -> any RoutingCommit {
        guard self.settings != nil else {
            return LocalRoutingCommit(storage: LocalStateFolder(directory: self.folder, clock: clock), deliver: deliver)
        }
        return PostgresRoutingCommit(store: try self.openStore())
    }

    /// The ids of the notifications on the shared outbox, in routing order (PostgreSQL only).
    func sharedOutbox() async throws -> [String] {
        try await PostgresOutbox(store: try self.openStore()).inspect().map(\.key)
    }

    private func openStore() throws -> PostgresStore {
        guard let settings else { throw StoreError(code: .failed, message: "not a PostgreSQL place") }
        // Deadlines on the real clock: they bound network waits, which a test's manual clock does not move.
        let store = try PostgresStore(settings: settings, clock: SystemClock(), logger: Logger(label: "test.postgres"))
        self.opened.withLock { $0.append(store) }
        return store
    }

    /// Closes what was opened and removes the folder.
    func close() async {
        for store in self.opened.withLock({ $0 }) { await store.close() }
        try? FileManager.default.removeItem(at: self.folder)
    }
}
