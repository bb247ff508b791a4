import ConfigLoading
import ConfigModel
import Delivery
import Foundation
import ObshellAgent
import ObshellModel
import Pipeline
import Routing
import Synchronization
import Tracker

/// A fresh folder under the temporary directory.
func temporaryFolder(_ prefix: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// The shared fixture captures, `Tests/Fixtures/captures`.
let capturesFolder = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/captures")

/// A configuration whose one rule sends every event to the webhook `hook` at once.
func everyEventToHook(in folder: URL) throws -> ObwatchConfig {
    let file = folder.appendingPathComponent("rules.yaml")
    try Data(
        """
        state_dir: state
        targets: [{ name: a, url: "http://127.0.0.1:1" }]
        receivers:
          - { name: hook, webhook: { format: generic, url: "https://hooks.example/x" }, rate_limit: none }
        rules:
          - { name: all, match: { event: "*" }, notify: [hook] }
        """.utf8
    ).write(to: file)
    return try ConfigLoader(environment: [:]).loadValid(contentsOfFile: file.path).0
}

/// The `target_down` of a target seen failing once (with `down_after: 1`), as a batch.
func targetDown(_ name: String, at seconds: Int64) -> EventBatch {
    let at = ObshellTime(seconds: 1_704_857_672 + seconds, nanoseconds: 0)
    let step = Tracker.step(
        TrackerState(),
        .failedPoll(reason: "cannot connect: refused", kind: .connect, at: at),
        settings: TrackerSettings(downAfter: 1),
        target: TargetIdentity(name: name)
    )
    return EventBatch(events: step.events, at: at)
}

/// A sender the outbox never gets to use in these tests (its workers are not started): what is accepted stays in
/// the journal, where the tests read it.
struct UnusedSender: NotificationSender {
    func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        .delivered(answer: "unused")
    }
}

/// The notifications on a receiver's outbox journal, in order.
func journal(_ folder: URL, receiver: String) -> [OutboundNotification] {
    OutboxFile(stateDirectory: folder, receiver: receiver).load().pending.map(\.notification)
}

/// A storage, counting the writes that reach it.
final class CountingStorage: PipelineStorage {
    let inner: any PipelineStorage
    private let counts = Mutex((targets: 0, router: 0))

    init(_ inner: any PipelineStorage) { self.inner = inner }

    var targetSaves: Int { self.counts.withLock { $0.targets } }
    var routerSaves: Int { self.counts.withLock { $0.router } }

    func loadTarget(_ name: String) async throws(StorageError) -> StorageLoad<TargetRecord> {
        try await self.inner.loadTarget(name)
    }

    func saveTarget(_ record: TargetRecord, name: String) async throws(StorageError) {
        self.counts.withLock { $0.targets += 1 }
        try await self.inner.saveTarget(record, name: name)
    }

    func loadRouterState() async throws(StorageError) -> StorageLoad<RouterState> {
        try await self.inner.loadRouterState()
    }

    func saveRouterState(_ state: RouterState) async throws(StorageError) {
        self.counts.withLock { $0.router += 1 }
        try await self.inner.saveRouterState(state)
    }
}

/// An agent that answers from a script, one answer per request, in order.
final class ScriptedAgent: AgentTransport {
    private let script: Mutex<[Result<AgentResponse, ObshellError>]>
    private let requests = Mutex<[String]>([])

    init(_ script: [Result<AgentResponse, ObshellError>]) { self.script = Mutex(script) }

    /// Every answer fails to connect.
    static func unreachable() -> ScriptedAgent { ScriptedAgent([]) }

    var sent: [String] { self.requests.withLock { $0 } }

    func send(_ request: AgentRequest) async throws(ObshellError) -> AgentResponse {
        self.requests.withLock { $0.append(request.pathAndQuery) }
        let next = self.script.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        switch next {
        case .success(let response)?: return response
        case .failure(let error)?: throw error
        case nil: throw ObshellError(code: .unreachable, message: "connection refused")
        }
    }
}

/// Collects what a poller hands on, and can refuse it.
final class BatchBox: Sendable {
    struct Refused: Error {}

    private let batches = Mutex<[EventBatch]>([])
    private let refusing = Mutex(false)

    func refuse(_ refusing: Bool) { self.refusing.withLock { $0 = refusing } }

    func take(_ batch: EventBatch) throws {
        if self.refusing.withLock({ $0 }) { throw Refused() }
        self.batches.withLock { $0.append(batch) }
    }

    var all: [EventBatch] { self.batches.withLock { $0 } }
}
