package import Foundation
import Logging
package import Routing
package import Support
import Tracker

/// The pipeline's storage in the local state folder (`state_dir`), in the files and formats obwatch has always
/// written there: each target's record as `NAME.json` (see ``StateStore``), the router's memory as `routing.state`.
///
/// Writes are atomic (temporary file, `fsync`, `rename`, `fsync` of the folder). They block briefly on the disk,
/// which the callers accept: one small file per change.
package struct LocalStateFolder: PipelineStorage {
    /// The folder.
    package let directory: URL
    private let clock: any ObwatchClock

    /// The file of the router's memory in a state folder; target files end in `.json`, so no target can collide.
    package static func routerStateFile(in folder: URL) -> URL { folder.appendingPathComponent("routing.state") }

    /// Makes the storage over a folder (created on the first save).
    /// - Parameters:
    ///   - directory: `state_dir`.
    ///   - clock: Names a file set aside (its wall time).
    package init(directory: URL, clock: any ObwatchClock) {
        self.directory = directory
        self.clock = clock
    }

    private var store: StateStore { StateStore(directory: self.directory) }

    package func loadTarget(_ name: String) async -> StorageLoad<TargetRecord> {
        let loaded = self.store.load(TargetRecord.self, target: name, timestamp: Self.timestamp(self.clock.wallNow))
        return StorageLoad(
            value: loaded.value ?? TargetRecord(),
            warning: loaded.warning.map { ($0, [:]) }
        )
    }

    package func saveTarget(_ record: TargetRecord, name: String) async throws(StorageError) {
        do {
            try self.store.save(value: record, target: name)
        } catch {
            throw StorageError(reason: Self.reason(message: error.message, cause: error.cause))
        }
    }

    package func loadRouterState() async -> StorageLoad<RouterState> {
        let loaded = self.routerStateFile.load(timestamp: "\(Int(self.clock.wallNow.timeIntervalSince1970))")
        guard let setAside = loaded.setAside else { return StorageLoad(value: loaded.value ?? RouterState()) }
        let problem =
            switch setAside.problem {
            case .newerVersion(let version): "written by a newer obwatch (version \(version))"
            case .undecodable(let text): text
            }
        let aside = setAside.movedTo ?? self.routerStateFile.url
        return StorageLoad(
            value: RouterState(),
            warning: (
                "the routing state is unreadable; moved aside, starting afresh",
                ["file": "\(aside.path)", "error": "\(problem)"]
            )
        )
    }

    package func saveRouterState(_ state: RouterState) async throws(StorageError) {
        do {
            try self.routerStateFile.save(state)
        } catch {
            throw StorageError(reason: Self.reason(message: error.message, cause: error.cause))
        }
    }

    /// The router's memory: JSON with sorted keys, set aside as `routing.state.corrupt-SECONDS` when unreadable.
    private var routerStateFile: StateFile<RouterState> {
        StateFile(url: Self.routerStateFile(in: self.directory), asideName: .appendingSuffix)
    }

    /// A write's failure in words: what, then the system's reason.
    private static func reason(message: String, cause: String?) -> String {
        guard let cause else { return message }
        return message + ": " + cause
    }

    /// `20260101T020304Z`, the suffix of a state file moved aside.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
