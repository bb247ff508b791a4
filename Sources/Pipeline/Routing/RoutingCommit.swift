package import ConfigModel
package import Delivery
package import ObshellModel
package import Routing
import Synchronization
package import Tracker

/// One piece of work of a routing step: the events of one observation, or a tick of time.
package enum RoutingInput: Sendable {
    /// The events of one observation of one target.
    case batch(EventBatch)
    /// Time advanced: reminders and waiting groups that fell due.
    case tick(ObshellTime)
    /// A change outside routing (an acknowledgement): it may update the memory and give notifications. No target's
    /// lease fences it: it is an operator's act, made against the stored memory like a tick.
    case amend(@Sendable (Router, inout RouterState) -> RoutingResult)

    /// The target whose lease fences this work: a batch's target; `nil` for a tick (no target), a batch without
    /// events (it cannot make a notification), and the watcher's own events (each replica reports its own
    /// problems, which no lease covers).
    package var fencedTarget: String? {
        guard case .batch(let batch) = self, let target = batch.events.first?.target.name,
            target != WatcherMonitor.identity.name
        else { return nil }
        return target
    }
}

/// What routing a group of work against one router state gave.
package struct RoutedGroup: Sendable {
    /// The router's memory after the group.
    package var state: RouterState
    /// The notifications now due, in order.
    package var notifications: [OutboundNotification]
    /// The results to hand on (events with `routes`), in order.
    package var results: [RoutingResult]

    /// Makes a group's result.
    package init(state: RouterState, notifications: [OutboundNotification], results: [RoutingResult]) {
        self.state = state
        self.notifications = notifications
        self.results = results
    }
}

/// What a committed routing step did.
package struct RoutingCommitOutcome: Sendable {
    /// What was routed and is now durable: the outbox holds its notifications and (unless ``saveFailure``) the
    /// storage its router state.
    package var routed: RoutedGroup
    /// The inputs (by index in the group) left out because their target's fence refused them, with why; their
    /// submissions fail with ``DeliveryError/Code/fenced``.
    package var fenced: [Int: DeliveryError]
    /// Whether the router's memory was written by this step (`false` when it did not change).
    package var saved: Bool
    /// The local store only: the notifications are on the outbox's disk but the router's memory could not be
    /// saved; it is kept in memory and written at the next step.
    package var saveFailure: StorageError?

    /// Makes an outcome.
    package init(
        routed: RoutedGroup,
        fenced: [Int: DeliveryError] = [:],
        saved: Bool,
        saveFailure: StorageError? = nil
    ) {
        self.routed = routed
        self.fenced = fenced
        self.saved = saved
        self.saveFailure = saveFailure
    }
}

/// How the routing stage makes a step durable: the seam between routing and the store.
///
/// The stage hands over a group of work and a pure `route` function; the commit chooses the router state to route
/// against, which inputs may be routed, and writes the notifications and the new state. The local state folder
/// (``LocalRoutingCommit``) routes against the stage's memory, puts the notifications on the outbox's disk, then
/// saves `routing.state`, as obwatch always did. PostgreSQL (`PostgresStore.PostgresRoutingCommit`) does it all in
/// one transaction: it locks and reads the shared router state (so replicas route one at a time, each against what
/// the last one committed), checks each batch's lease fence, inserts the notifications into the shared outbox and
/// updates the state.
package protocol RoutingCommit: Sendable {
    /// Loads the router's memory when the stage starts.
    /// - Throws: ``StorageError`` when the storage cannot be read at all.
    func loadRouterState() async throws(StorageError) -> StorageLoad<RouterState>

    /// Routes `inputs` and makes the result durable, all or nothing (apart from fenced inputs, which are left out).
    /// - Parameters:
    ///   - inputs: The group's work, in submission order.
    ///   - memory: The stage's router state (the state after its last committed step).
    ///   - route: Routes the admitted inputs, in order, against a state. Pure; called once.
    /// - Returns: What was committed.
    /// - Throws: ``DeliveryError`` when nothing was committed (the outbox refused, the database failed); the
    ///   stage's memory then stays as it was and every submission fails.
    func commit(
        _ inputs: [RoutingInput],
        memory: RouterState,
        route: @escaping @Sendable ([RoutingInput], RouterState) -> RoutedGroup
    ) async throws(DeliveryError) -> RoutingCommitOutcome
}

/// The local store's routing step, as obwatch always made it: the notifications go to the outbox (which returns
/// once they are on its disk), then the router's memory is saved to the state folder. A failed save is not fatal:
/// the memory goes on, and the save is tried again at the next step.
package final class LocalRoutingCommit: RoutingCommit {
    /// Where notifications go: the outbox, which returns once they are on disk.
    package typealias Deliver = @Sendable ([OutboundNotification]) async throws(DeliveryError) -> Void

    private let storage: any PipelineStorage
    private let deliver: Deliver
    /// The router state last written to ``storage`` (`nil` before the first load or save).
    private let saved = Mutex<RouterState?>(nil)

    /// Makes the commit.
    /// - Parameters:
    ///   - storage: Where the router's memory is saved.
    ///   - deliver: Takes the notifications durably (the outbox).
    package init(storage: any PipelineStorage, deliver: @escaping Deliver) {
        self.storage = storage
        self.deliver = deliver
    }

    package func loadRouterState() async throws(StorageError) -> StorageLoad<RouterState> {
        let loaded = try await self.storage.loadRouterState()
        self.saved.withLock { $0 = loaded.value }
        return loaded
    }

    package func commit(
        _ inputs: [RoutingInput],
        memory: RouterState,
        route: @escaping @Sendable ([RoutingInput], RouterState) -> RoutedGroup
    ) async throws(DeliveryError) -> RoutingCommitOutcome {
        let routed = route(inputs, memory)
        try await self.deliver(routed.notifications)
        guard routed.state != self.saved.withLock({ $0 }) else {
            return RoutingCommitOutcome(routed: routed, saved: false)
        }
        do {
            try await self.storage.saveRouterState(routed.state)
            self.saved.withLock { $0 = routed.state }
            return RoutingCommitOutcome(routed: routed, saved: true)
        } catch {
            return RoutingCommitOutcome(routed: routed, saved: false, saveFailure: error)
        }
    }
}
