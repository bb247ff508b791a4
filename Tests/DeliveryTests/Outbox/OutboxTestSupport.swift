import ConfigModel
import Delivery
import Foundation
import ObshellModel
import Synchronization
import Tracker

/// Virtual time for the outbox: every wait returns at once, moving the clock to its deadline.
final class OutboxVirtualClock: DeliveryClock {
    private let current: Mutex<Date>

    init(start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.current = Mutex(start)
    }

    func now() -> Date { self.current.withLock { $0 } }

    func wait(until deadline: Date) async throws {
        try Task.checkCancellation()
        self.current.withLock { $0 = max($0, deadline) }
    }

    func advance(by seconds: TimeInterval) {
        self.current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// A sender that answers from a script (then `delivered`), and writes down what it was given and when.
final class OutboxScriptedSender: NotificationSender {
    private let state: Mutex<(script: [DeliveryOutcome], log: [(id: String, at: Date)])>

    init(_ script: [DeliveryOutcome] = []) {
        self.state = Mutex((script, []))
    }

    func deliver(_ notification: OutboundNotification, now: Date) async -> DeliveryOutcome {
        self.state.withLock { state in
            state.log.append((notification.id, now))
            return state.script.isEmpty ? .delivered(answer: "ok") : state.script.removeFirst()
        }
    }

    var ids: [String] { self.state.withLock { $0.log.map(\.id) } }
    var times: [Date] { self.state.withLock { $0.log.map(\.at) } }
}

/// Collects attempts and drops.
final class OutboxRecorder: Sendable {
    private let attempts = Mutex<[DeliveryAttempt]>([])
    private let drops = Mutex<[DeliveryDrop]>([])

    func attempt(_ attempt: DeliveryAttempt) { self.attempts.withLock { $0.append(attempt) } }
    func drop(_ drop: DeliveryDrop) { self.drops.withLock { $0.append(drop) } }
    var allAttempts: [DeliveryAttempt] { self.attempts.withLock { $0 } }
    var allDrops: [DeliveryDrop] { self.drops.withLock { $0 } }
}

enum OutboxFixtures {
    static let target = TargetIdentity(name: "prod-east", url: "http://10.0.0.5:2886", labels: [:])

    /// A notification of one `failed` event of DAG `dag` (its incident `prod-east/DAG/failed`).
    static func notification(_ dag: Int, receiver: String = "hook", type: EventType = .failed) -> OutboundNotification {
        let event = Event(
            id: "event-\(dag)-\(type.rawValue)",
            type: type,
            incident: "prod-east/\(dag)/failed",
            at: ObshellTime(seconds: 1_700_000_000, nanoseconds: 0),
            target: Self.target,
            summary: "DAG \(dag) \(type.rawValue)"
        )
        return OutboundNotification(receiver: receiver, rule: "r", events: [event])
    }

    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("obw-outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs `queue` until `condition` holds, then stops it.
    static func drain(_ queue: ReceiverQueue, until condition: @escaping @Sendable () async -> Bool) async {
        let worker = Task { await queue.run() }
        while !(await condition()) { await Task.yield() }
        await queue.stop()
        worker.cancel()
        await worker.value
    }
}

/// A clock only the test moves: a wait suspends until ``advance(by:)`` passes its deadline.
final class OutboxManualClock: DeliveryClock {
    private struct Waiter {
        var id: UUID
        var deadline: Date
        var continuation: CheckedContinuation<Void, Never>
    }

    private let state: Mutex<(now: Date, waiters: [Waiter])>

    init(start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.state = Mutex((start, []))
    }

    func now() -> Date { self.state.withLock { $0.now } }

    func wait(until deadline: Date) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = self.state.withLock { state -> Bool in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.waiters.append(Waiter(id: id, deadline: deadline, continuation: continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            let cancelled = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            cancelled?.resume()
        }
    }

    /// How many waits are pending.
    var waiting: Int { self.state.withLock { $0.waiters.count } }

    func advance(by seconds: TimeInterval) {
        let due = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.now = state.now.addingTimeInterval(seconds)
            let now = state.now
            let due = state.waiters.filter { $0.deadline <= now }.map(\.continuation)
            state.waiters.removeAll { $0.deadline <= now }
            return due
        }
        for continuation in due { continuation.resume() }
    }
}
