import ConfigModel
import Curl
import Foundation
import Logging
import ObshellAgent
import ObshellModel
import Synchronization
import Tracker

/// When a target is polled: the first poll at a random point within the first interval, so that targets started
/// together do not poll together, then every interval give or take up to a tenth.
struct PollSchedule: Sendable, Hashable {
    /// The configured interval.
    var interval: Duration

    /// The wait before the first poll: a random phase within the interval, so that many targets' polls spread
    /// over it instead of coming all at once.
    /// - Parameter unit: A number in `0..<1` (random in the daemon, fixed in tests).
    func firstDelay(unit: Double) -> Duration {
        self.interval * min(max(unit, 0), 1)
    }

    /// How far after the previous poll's deadline the next one lies: one interval, so a target is polled at a
    /// steady cadence and a change waits at most one interval to be seen. A poll that ran past one or more
    /// deadlines skips them rather than polling back to back to catch up.
    /// - Parameter elapsed: How long ago the previous deadline was.
    func nextDeadline(afterDeadlineElapsed elapsed: Duration) -> Duration {
        guard elapsed >= self.interval, self.interval > .zero else { return self.interval }
        let missed = Int((elapsed / self.interval).rounded(.down))
        return self.interval * (missed + 1)
    }
}

/// Appends every exchange with every agent to one capture file (CONTRACT section 5), for `--record`.
///
/// One recorder serves all targets; a mutex keeps each line whole. The write happens in the client's exchange
/// callback, which is synchronous: a short blocking append of one line.
final class CaptureRecorder: Sendable {
    private let handle: Mutex<FileHandle>

    /// Opens (or creates) the file for appending.
    /// - Throws: ``RunError`` `.recordUnwritable` when the file cannot be opened.
    init(path: String) throws(RunError) {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw RunError(code: .recordUnwritable, message: "cannot create the capture file \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw RunError(code: .recordUnwritable, message: "cannot open the capture file \(path) for writing")
        }
        do {
            let end = try handle.seekToEnd()
            // A kill -9 can cut a write to a regular file short: the unfinished last line was never recorded, so
            // it is dropped and the capture still replays line by line.
            if end > 0, let whole = Self.lengthOfWholeLines(path: path, size: end), whole < end {
                try handle.truncate(atOffset: whole)
                try handle.seekToEnd()
            }
        } catch {
            throw RunError(code: .recordUnwritable, message: "cannot append to the capture file \(path)", cause: error)
        }
        self.handle = Mutex(handle)
    }

    /// How many bytes of the file end in a newline: its size when it ends with one, else the offset after its last.
    private static func lengthOfWholeLines(path: String, size: UInt64) -> UInt64? {
        guard let reader = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? reader.close() }
        // Lines are at most a few megabytes (an agent's answer); read back in chunks until a newline shows.
        var offset = size
        let chunk: UInt64 = 64 << 10
        while offset > 0 {
            let start = offset > chunk ? offset - chunk : 0
            guard (try? reader.seek(toOffset: start)) != nil,
                let data = try? reader.read(upToCount: Int(offset - start))
            else { return nil }
            if let newline = data.lastIndex(of: UInt8(ascii: "\n")) {
                return start + UInt64(newline - data.startIndex) + 1
            }
            offset = start
        }
        return 0
    }

    /// Appends one exchange as a capture line.
    /// - Parameters:
    ///   - exchange: What the client sent and what came back.
    ///   - at: When it ended, by the daemon's clock.
    ///   - target: The target's name.
    func record(_ exchange: ObshellClient.Exchange, at: Date, target: String) {
        let line = Self.line(exchange, at: at, target: target)
        self.handle.withLock { handle in
            // A full disk must not stop the polling; the capture is a debugging aid.
            try? handle.write(contentsOf: Data((line + "\n").utf8))
        }
    }

    /// The capture line of an exchange, without its newline.
    static func line(_ exchange: ObshellClient.Exchange, at: Date, target: String) -> String {
        CaptureWriter().line(
            at: ObshellTime(date: at),
            target: target,
            request: exchange.request,
            status: exchange.response?.status,
            body: exchange.response?.body,
            error: exchange.error.map { "\($0)" }
        )
    }

    /// Closes the file.
    func close() {
        self.handle.withLock { try? $0.close() }
    }
}

/// The last exchange a client made and when it ended by the daemon's clock, so that an observation carries exactly
/// the time and failure reason its capture line gives on replay.
private final class LastExchange: Sendable {
    private let value = Mutex<(exchange: ObshellClient.Exchange, at: Date)?>(nil)

    func set(_ exchange: ObshellClient.Exchange, at date: Date) { self.value.withLock { $0 = (exchange, date) } }

    func take() -> (exchange: ObshellClient.Exchange, at: Date)? {
        self.value.withLock { value in
            defer { value = nil }
            return value
        }
    }
}

/// The events of one observation, as the poller hands them on.
typealias ObservedEvents = EventBatch

/// One target's loop: poll the unfinished DAGs, feed the tracker, confirm what it asks for, save the state, hand the
/// events on.
///
/// The tracker starts from the saved state, so a restart resumes where the last run stopped (no second `started`).
final class TargetPoller: Sendable {
    /// The target as configured.
    let target: ObwatchConfig.Target
    /// The live state machine.
    let tracker: TargetTracker
    private let client: ObshellClient
    private let store: StateStore
    private let schedule: PollSchedule
    private let clock: any Clock<Duration>
    private let now: @Sendable () -> Date
    private let random: @Sendable () -> Double
    private let logger: Logger
    private let sink: @Sendable (ObservedEvents) async throws -> Void
    private let onPoll: @Sendable (_ result: String, _ seconds: Double, _ state: TrackerState) -> Void
    private let lastExchange: LastExchange
    private let saved: Mutex<TrackerState>
    /// When the state was last written, for the clock-only checkpoint.
    private let lastSave = Mutex<Date?>(nil)
    /// Whether the last write failed: `saved` is then what the disk should hold, and every cycle tries again.
    private let diskBehind = Mutex(false)
    private let health: PipelineHealth?
    private let downAfter: Int
    private let backoffBook: AuthBackoffBook
    /// The wait before the next poll when the agent refused the password; `nil` polls at the schedule.
    private let backoffDelay = Mutex<Duration?>(nil)
    private let failureLog = Mutex(FailureLog())

    /// Makes a poller and loads the target's saved state (a short blocking read at start-up).
    /// - Parameters:
    ///   - target: The target.
    ///   - settings: The tracker's settings.
    ///   - store: Where the state is kept.
    ///   - transport: How requests are sent; libcurl with the target's timeout by default.
    ///   - recorder: Where exchanges are recorded (`--record`), if anywhere.
    ///   - clock: What the loop sleeps on.
    ///   - now: The wall clock for observation and exchange times.
    ///   - random: Numbers in `0..<1` for the jitter.
    ///   - logger: Where the poller logs; `target` metadata is added.
    ///   - health: Where failed saves and polls are reported.
    ///   - backoffBook: The password back-off of every target, kept across reloads.
    ///   - onPoll: Told after every poll: `ok` or `failed`, how long it took, the state after it (metrics,
    ///     readiness).
    ///   - sink: Receives the events of each observation (a poll, a confirmation), in order. When it throws, the
    ///     state goes back to the last saved one, so the next poll makes the same events again (same ids).
    init(
        target: ObwatchConfig.Target,
        settings: TrackerSettings,
        store: StateStore,
        transport: (any AgentTransport)? = nil,
        recorder: CaptureRecorder? = nil,
        clock: any Clock<Duration> = ContinuousClock(),
        now: @escaping @Sendable () -> Date = { Date() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger = Logger(label: "obwatch"),
        health: PipelineHealth? = nil,
        backoffBook: AuthBackoffBook = AuthBackoffBook(),
        onPoll: @escaping @Sendable (_ result: String, _ seconds: Double, _ state: TrackerState) -> Void = { _, _, _ in
        },
        sink: @escaping @Sendable (ObservedEvents) async throws -> Void
    ) {
        var logger = logger
        logger[metadataKey: "target"] = "\(target.name)"
        let loaded = store.load(target: target.name, timestamp: Self.timestamp(now()))
        if let warning = loaded.warning { logger.warning("\(warning)") }
        let lastExchange = LastExchange()
        self.lastExchange = lastExchange
        let name = target.name
        self.target = target
        // The tracker works on the state alone; events still to hand on are the poller's (see `pollOnce`).
        var working = loaded.state
        working.handoff = nil
        self.tracker = TargetTracker(target: target.identity, settings: settings, state: working)
        self.saved = Mutex(loaded.state)
        self.client = ObshellClient(
            baseURL: target.url,
            password: target.password,
            transport: transport
                ?? CurlAgentTransport(
                    baseURL: target.url,
                    timeout: target.timeout,
                    tls: TLSOptions(caFile: target.caFile)
                ),
            logger: logger,
            onExchange: { exchange in
                // The header's expiry keeps the real clock (the agent checks it); times recorded and observed come
                // from `now`, so a test can run on scenario time.
                let at = now()
                lastExchange.set(exchange, at: at)
                recorder?.record(exchange, at: at, target: name)
            }
        )
        self.store = store
        self.schedule = PollSchedule(interval: target.pollInterval)
        self.clock = clock
        self.now = now
        self.random = random
        self.logger = logger
        self.sink = sink
        self.onPoll = onPoll
        self.health = health
        self.backoffBook = backoffBook
        self.downAfter = settings.downAfter
    }

    /// Polls until the task is cancelled.
    /// - Throws: `CancellationError` when the task is cancelled during a sleep.
    func run() async throws {
        self.logger.info("target started", metadata: ["url": "\(Redacted.url(self.target.url))"])
        do {
            try await self.pollLoop(on: self.clock)
        } catch {
            await self.checkpoint()
            throw error
        }
        await self.checkpoint()
    }

    /// Polls at the schedule's deadlines on `clock` until the task is cancelled.
    private func pollLoop<LoopClock: Clock<Duration>>(on clock: LoopClock) async throws {
        var first = self.schedule.firstDelay(unit: self.random())
        // A reload that kept a refused password keeps its back-off; a changed password polls at once.
        if let wait = self.backoffBook.remainingWait(target: self.target.name, password: self.target.password) {
            first = max(first, wait)
        }
        var deadline = clock.now.advanced(by: first)
        try await clock.sleep(until: deadline, tolerance: nil)
        while !Task.isCancelled {
            await self.pollInChildTask()
            if let backoff = self.backoffDelay.withLock({ $0 }) {
                deadline = clock.now.advanced(by: backoff)
            } else {
                let elapsed = deadline.duration(to: clock.now)
                deadline = deadline.advanced(by: self.schedule.nextDeadline(afterDeadlineElapsed: elapsed))
            }
            try await clock.sleep(until: deadline, tolerance: nil)
        }
    }

    /// One poll in a child task. A task keeps the memory its deepest call needed (answers, states and requests
    /// held across awaits) for as long as it lives; in a child task that memory is freed when the poll ends
    /// instead of staying with each target's loop for ever, which with thousands of targets was most of the
    /// daemon's memory.
    private func pollInChildTask() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await self.pollOnce() }
        }
    }

    /// Writes what only the poll clocks changed, on a stop. Events waiting to be handed on stay as they are on disk.
    private func checkpoint() async {
        guard self.saved.withLock({ $0.handoff == nil }) else { return }
        self.saveIfChanged(await self.tracker.state, force: true)
    }

    /// One poll with its confirmations: feeds the tracker, saves the state if it changed, hands the events on.
    ///
    /// Call it from one task at a time (``run()`` does): the exchange it reads the time from is the client's last.
    /// - Returns: The events, in order (also given to the sink).
    @discardableResult
    func pollOnce() async -> [Event] {
        // What a crash or a full disk kept from being handed on goes first, in order.
        if let waiting = self.saved.withLock({ $0.handoff }), !waiting.isEmpty {
            guard await self.handOff(waiting) else { return [] }
        }
        let observation: Observation
        let started = ContinuousClock.now
        do {
            let answer = try await self.client.unfinishedDags(showDetails: true)
            observation = .list(answer.dags, at: self.observationTime(self.lastExchange.take()))
            self.pollSucceeded()
        } catch {
            // A poll cut short by a stop or a reload is no observation: it must not count toward target_down.
            if Task.isCancelled || error.code == .cancelled { return [] }
            let last = self.lastExchange.take()
            if case .failedPoll(let reason, let kind, _)? = self.replayed(last) {
                observation = .failedPoll(reason: reason, kind: kind, at: self.observationTime(last))
            } else {
                observation = .failedPoll(
                    reason: "\(error)",
                    kind: PollFailureKind(error),
                    at: self.observationTime(last)
                )
            }
            self.pollFailed(error, observation: observation)
        }
        var step = await self.tracker.observe(observation)
        self.health?.polled(
            target: self.target.name,
            consecutiveFailures: step.state.consecutiveFailedPolls,
            downAfter: self.downAfter
        )
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if case .list = observation {
            self.onPoll("ok", seconds, step.state)
        } else {
            self.onPoll("failed", seconds, step.state)
        }
        var batches = [ObservedEvents(events: step.events, at: observation.at)]
        for id in step.confirmations {
            let result: ConfirmationResult
            let last: (exchange: ObshellClient.Exchange, at: Date)?
            do {
                result = .found(try await self.client.dag(id: id, showDetails: true))
                last = self.lastExchange.take()
            } catch  where error.code == .notFound {
                result = .notFound
                last = self.lastExchange.take()
            } catch {
                last = self.lastExchange.take()
                if case .confirmation(_, .failed(let replayed), _)? = self.replayed(last) {
                    result = .failed(reason: replayed)
                } else {
                    result = .failed(reason: "\(error)")
                }
            }
            let confirmation = Observation.confirmation(id: id, result: result, at: self.observationTime(last))
            step = await self.tracker.observe(confirmation)
            batches.append(ObservedEvents(events: step.events, at: confirmation.at))
        }
        let produced = batches.filter { !$0.events.isEmpty }
        guard !produced.isEmpty else {
            self.saveIfChanged(step.state)
            return []
        }
        // The events go to disk with the state that made them, then are handed on (routed, their notifications on
        // the outbox's disk), then the state is saved without them: a crash anywhere hands them on again after
        // the restart (the outbox knows each notification by its id), never loses them.
        // When the disk refuses the write, the events go out all the same (a second send after a restart beats
        // silence); the state to hand on is kept in memory for the next try, and the failure is loud (health).
        var staged = step.state
        staged.handoff = produced
        self.save(staged)
        guard await self.handOff(produced) else { return [] }
        return batches.flatMap(\.events)
    }

    /// When the exchange ended, or the clock when no exchange was made.
    private func observationTime(_ last: (exchange: ObshellClient.Exchange, at: Date)?) -> ObshellTime {
        ObshellTime(date: last?.at ?? self.now())
    }

    /// What `obwatch replay` reads from the exchange's capture line, so that a failure is worded the same live and
    /// replayed (`HTTP 401 Security.Authentication.Expired: ...`).
    private func replayed(_ last: (exchange: ObshellClient.Exchange, at: Date)?) -> Observation? {
        guard let last else { return nil }
        let line = CaptureRecorder.line(last.exchange, at: last.at, target: self.target.name)
        return (try? CaptureReader.entry(Data(line.utf8), file: "", line: 0))?.observation
    }

    /// Hands batches on in order, then saves the state without them.
    /// - Returns: Whether all were taken; the state on disk keeps them otherwise, for the next try.
    private func handOff(_ batches: [EventBatch]) async -> Bool {
        for batch in batches {
            do {
                try await self.sink(batch)
            } catch {
                self.logger.error(
                    "events could not be handed on; trying again before the next poll",
                    metadata: ["error": "\(error)"]
                )
                return false
            }
        }
        var clean = await self.tracker.state
        clean.handoff = nil
        self.saveIfChanged(clean)
        return true
    }

    /// Saves a state that changed; one that only moved the poll clocks forward waits for the next checkpoint.
    ///
    /// Every poll moves the last-seen times, and writing each (two fsyncs) would cost a disk flush per target per
    /// poll: with 2,000 targets, hundreds a second. What waits is worth nothing after a crash (see
    /// `TrackerState.differsOnlyInClock(from:)`); every event, failure count and phase is written before it is acted on.
    private func saveIfChanged(_ state: TrackerState, force: Bool = false) {
        let saved = self.saved.withLock { $0 }
        let behind = self.diskBehind.withLock { $0 }
        guard saved != state || behind else { return }
        if !force, !behind, let last = self.lastSave.withLock({ $0 }), self.now().timeIntervalSince(last) < 60,
            saved.differsOnlyInClock(from: state)
        {
            return
        }
        self.save(state)
    }

    /// Saves the state. On failure the state is kept in memory as the one the disk should hold (events waiting
    /// to be handed on included), every later cycle tries the write again, and ``PipelineHealth`` hears of it: one
    /// log line per episode, `/readyz` 503, `watcher_degraded`.
    private func save(_ state: TrackerState) {
        let part = "target " + self.target.name
        self.saved.withLock { $0 = state }
        do {
            try self.store.save(state, target: self.target.name)
            self.lastSave.withLock { $0 = self.now() }
            self.diskBehind.withLock { $0 = false }
            self.health?.saved(part)
        } catch {
            self.diskBehind.withLock { $0 = true }
            var reason = error.message
            if let cause = error.cause { reason += ": " + cause }
            if let health = self.health {
                health.saveFailed(part, reason: reason)
            } else {
                self.logger.error("cannot save the state", metadata: ["reason": "\(reason)"])
            }
        }
    }

    // MARK: - Failed polls

    /// A good poll: the password back-off ends, and a failing spell is logged as over.
    private func pollSucceeded() {
        self.backoffDelay.withLock { $0 = nil }
        self.backoffBook.accepted(target: self.target.name)
        let ended = self.failureLog.withLock { $0.succeeded() }
        if let failures = ended {
            self.logger.notice("polls succeed again", metadata: ["failed_polls": "\(failures)"])
        }
    }

    /// A failed poll: a refused password backs off; the log hears of a failure when its kind changes and then at
    /// most every ``FailureLog/reminderInterval``, never once per poll.
    private func pollFailed(_ error: ObshellError, observation: Observation) {
        guard case .failedPoll(let reason, let kind, _) = observation else { return }
        var metadata: Logger.Metadata = ["error_kind": "\(kind.rawValue)", "reason": "\(reason)"]
        if kind == .auth {
            let delay = self.backoffBook.refused(
                target: self.target.name,
                password: self.target.password,
                interval: self.schedule.interval
            )
            self.backoffDelay.withLock { $0 = delay }
            metadata["next_try_in"] = "\(delay)"
        } else {
            self.backoffDelay.withLock { $0 = nil }
            self.backoffBook.accepted(target: self.target.name)
        }
        let decision = self.failureLog.withLock { $0.failed(kind: kind.rawValue, at: self.now()) }
        switch decision {
        case .quiet:
            return
        case .first:
            let message =
                kind == .auth
                ? "poll failed: the agent refused the password; fix password/password_file of \(self.target.name) "
                    + "(polls back off, doubling up to 15m)"
                : "poll failed"
            self.logger.warning("\(message)", metadata: metadata)
        case .reminder(let failures):
            metadata["failed_polls"] = "\(failures)"
            self.logger.warning("polls still failing", metadata: metadata)
        }
    }

    /// `20260101T020304Z`, the suffix of a state file moved aside.
    private static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
