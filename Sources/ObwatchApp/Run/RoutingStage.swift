import ConfigModel
import Delivery
import Foundation
import Logging
import ObshellModel
import Routing
import Support
import Tracker

/// The daemon's router: one for all targets, so that the rules see every event in the order it was observed. It
/// keeps the router's memory (open incidents, who was sent what, reminders, waiting groups) on disk after every
/// change, so a restart neither repeats nor forgets a notification.
actor RoutingStage {
    /// What routing gave: the events with `routes`, and the notifications now due.
    typealias Output = @Sendable (RoutingResult) async -> Void
    /// Where notifications go: the outbox, which returns once they are on disk.
    typealias Deliver = @Sendable ([OutboundNotification]) async throws(DeliveryError) -> Void

    private let router: Router
    private var state: RouterState
    private var saved: RouterState
    private let file: URL
    private let logger: Logger
    private let output: Output
    private let deliver: Deliver
    private let health: PipelineHealth?

    /// The file of the router's memory in a state folder; target files end in `.json`, so no target can collide.
    static func stateFile(in folder: URL) -> URL { folder.appendingPathComponent("routing.state") }

    /// Makes the stage and loads the saved memory (a short blocking read at start-up).
    /// - Parameters:
    ///   - router: The rules.
    ///   - stateDirectory: `state_dir`.
    ///   - logger: Where problems are logged.
    ///   - deliver: Takes the notifications durably (the outbox); nothing by default.
    ///   - health: Where a failed save is reported.
    ///   - output: Receives every routing result, in order.
    init(
        router: Router,
        stateDirectory: URL,
        logger: Logger,
        deliver: @escaping Deliver = { _ in },
        health: PipelineHealth? = nil,
        output: @escaping Output
    ) {
        self.router = router
        self.file = Self.stateFile(in: stateDirectory)
        self.logger = logger
        self.deliver = deliver
        self.health = health
        self.output = output
        var state = RouterState()
        if let data = try? Data(contentsOf: self.file) {
            do {
                state = try JSONDecoder().decode(RouterState.self, from: data)
            } catch {
                let aside = self.file.appendingPathExtension("corrupt-\(Int(Date().timeIntervalSince1970))")
                try? FileManager.default.moveItem(at: self.file, to: aside)
                logger.warning(
                    "the routing state is unreadable; moved aside, starting afresh",
                    metadata: ["file": "\(aside.path)", "error": "\(error)"]
                )
            }
        }
        self.state = state
        self.saved = state
    }

    /// Routes the events of one observation: reminders that fell due before it first, then the events (as
    /// `replay` does, so that live and replayed output agree). The notifications are on the outbox's disk before
    /// the router's memory is saved.
    ///
    /// Observations that arrive while a step is under way wait, and the next step routes all of them together,
    /// in arrival order, with one write to the outbox and one save: when many targets see changes at once (an
    /// upgrade of every cluster), each does not wait for the others' disk flushes one by one.
    /// - Throws: ``DeliveryError`` when the outbox cannot take them; the router's memory is then left as it was,
    ///   so the same events routed again give the same notifications.
    func observed(_ batch: ObservedEvents) async throws(DeliveryError) {
        self.nextTicket += 1
        let ticket = self.nextTicket
        self.queued.append((ticket, batch))
        await self.acquire()
        defer { self.release() }
        // A step that ran while this one waited may have routed its batch already.
        if let result = self.results.removeValue(forKey: ticket) { return try result.get() }

        let group = self.queued
        self.queued = []
        var state = self.state
        var notifications: [OutboundNotification] = []
        var outputs: [RoutingResult] = []
        for (_, queuedBatch) in group {
            let due = self.router.tick(at: queuedBatch.at.adding(.nanoseconds(-1)), state: &state)
            let routed = self.router.route(queuedBatch.events, at: queuedBatch.at, state: &state)
            notifications += due.notifications + routed.notifications
            if !due.events.isEmpty || !due.notifications.isEmpty { outputs.append(due) }
            outputs.append(routed)
        }
        do {
            try await self.deliver(notifications)
        } catch {
            for (other, _) in group where other != ticket { self.results[other] = .failure(error) }
            throw error
        }
        self.state = state
        self.save()
        for output in outputs { await self.output(output) }
        for (other, _) in group where other != ticket { self.results[other] = .success(()) }
    }

    /// Observations waiting for the next routing step, by ticket.
    private var queued: [(ticket: Int, batch: ObservedEvents)] = []
    /// What a step that routed other callers' observations gave them, by ticket.
    private var results: [Int: Result<Void, DeliveryError>] = [:]
    private var nextTicket = 0

    /// Advances time: reminders and waiting groups that fell due.
    func tick(at now: ObshellTime) async {
        await self.acquire()
        defer { self.release() }
        var state = self.state
        let due = self.router.tick(at: now, state: &state)
        do {
            try await self.deliver(due.notifications)
        } catch {
            self.logger.error("the outbox cannot take notifications; trying again", metadata: ["error": "\(error)"])
            return
        }
        self.state = state
        self.save()
        if !due.events.isEmpty || !due.notifications.isEmpty { await self.output(due) }
    }

    // One routing step at a time: a step awaits the outbox between reading the router's memory and writing it
    // back, and the actor would otherwise let another step in meanwhile.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        guard self.busy else {
            self.busy = true
            return
        }
        await withCheckedContinuation { self.waiting.append($0) }
    }

    private func release() {
        if self.waiting.isEmpty {
            self.busy = false
        } else {
            self.waiting.removeFirst().resume()
        }
    }

    /// When ``tick(at:)`` next has something to do.
    var nextDeadline: ObshellTime? { self.router.nextDeadline(in: self.state) }

    /// Saves the router's memory when it changed. A failure keeps it in memory (routing goes on), is tried again at
    /// the next step, and is reported to ``PipelineHealth``.
    private func save() {
        guard self.state != self.saved else { return }
        let data: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            data = try encoder.encode(self.state)
        } catch {
            self.logger.error("cannot encode the routing state", metadata: ["error": "\(error)"])
            return
        }
        do {
            try AtomicFile.store(data, at: self.file)
            self.saved = self.state
            self.health?.saved("routing")
        } catch {
            var reason = error.message
            if let cause = error.cause { reason += ": " + cause }
            if let health = self.health {
                health.saveFailed("routing", reason: reason)
            } else {
                self.logger.error("cannot save the routing state", metadata: ["reason": "\(reason)"])
            }
        }
    }
}
