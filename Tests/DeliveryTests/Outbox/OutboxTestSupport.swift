import ConfigModel
import Delivery
import Foundation
import ObshellModel
import ObwatchTestKit
import Synchronization
import Testing
import Tracker

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
        try temporaryFolder("obw-outbox")
    }

    /// Runs `queue` until `condition` holds, then stops it; the condition is asked again after every try and drop
    /// that `recorder` (the queue's `onAttempt` and `onDrop`) reports.
    /// - Throws: ``TestTimeout`` when it never held.
    static func drain(
        _ queue: ReceiverQueue,
        recorder: DeliveryRecorder,
        until condition: @escaping @Sendable () async -> Bool
    ) async throws {
        let worker = Task { await queue.run() }
        defer { worker.cancel() }
        try await recorder.wait(until: "the queue's drain condition", condition)
        await queue.stop()
        worker.cancel()
        await worker.value
    }
}

extension OutboxFixtures {
    /// Stops `outbox` once `waiting` of its workers wait on `clock` (a retry, a rate limit): a worker that only waits
    /// ends at once when stopped (its wait is cancelled), so the stop returns without its grace passing.
    static func stop(_ outbox: Outbox, grace: Duration, clock: ManualClock, waiting: Int) async {
        await clock.sleepers(atLeast: waiting)
        await outbox.stop(grace: grace)
        #expect(clock.sleeping == 0, "a stopped worker still waits on the clock")
    }
}
