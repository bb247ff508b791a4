import CCurl
import Foundation
import Synchronization

/// The shared state between callers and the engine thread, and the engine thread's loop.
///
/// Callers only touch the `Mutex`-protected ``State``: they queue submissions and cancellations and wake the thread.
/// The multi handle and every easy handle are used by the engine thread alone, as libcurl requires; the only call
/// made from other threads is `curl_multi_wakeup`, which libcurl documents as thread-safe.
///
/// A caller wakes the thread only when it sleeps (or is about to sleep) in `curl_multi_poll`, and outside the lock:
/// made under the lock, the wake-up's system call held it while the woken thread spun for it. The handle's clean-up
/// cannot race such a wake-up: a caller takes the handle's address and counts itself in ``wakersInFlight`` under the
/// lock, and the thread withdraws the address under the lock and waits for that count to reach zero before it cleans
/// the handle up.
///
/// The core is also a `TaskExecutor`: a task that prefers it (``CurlEngine/taskExecutor``) runs its nonisolated code
/// and its calls into default actors on the engine thread, between rounds of libcurl's work. A poll that starts its
/// request there needs no wake-up, and its answer resumes it on the same thread: no hand-off to the thread and back,
/// which were the largest single cost of a poll (the context switches). Jobs run in the order they came.
final class EngineCore: TaskExecutor, Sendable {
    struct Submission: Sendable {
        var id: UInt64
        var plan: TransferPlan
        var continuation: TransferContinuation
    }

    /// Where a caller's job is: registered but not yet queued, cancelled before it was queued, or queued/running.
    enum Phase {
        case registered
        case cancelledEarly
        case submitted
    }

    struct State {
        /// The `CURLM *`'s address, published by the engine thread once created and withdrawn before clean-up.
        /// It is kept as an integer because the lock's contents must be `Sendable`; it is turned back into a
        /// pointer only to call `curl_multi_wakeup` under the lock.
        var multiAddress: UInt = 0
        /// Whether the engine thread sleeps in `curl_multi_poll` (or is about to) with nothing queued: the next
        /// caller to queue work must wake it. The thread sets it under the lock after finding nothing queued; the
        /// caller that wakes it clears it, so one sleep costs at most one wake-up.
        var engineSleeps = false

        /// Notes queued work: the handle's address when the engine sleeps and must be woken (the caller counts
        /// itself in ``EngineCore/wakersInFlight`` under the lock and calls ``EngineCore/wake(_:)`` once out of it),
        /// `nil` when the engine will find the work by itself.
        mutating func claimWakeUp() -> UInt? {
            guard self.engineSleeps, self.multiAddress != 0 else { return nil }
            self.engineSleeps = false
            return self.multiAddress
        }
        var phases: [UInt64: Phase] = [:]
        var incoming: [Submission] = []
        var cancellations: [UInt64] = []
        /// Jobs of tasks that prefer the engine as their executor, to run on its thread in order.
        var jobs: [UnownedJob] = []
        /// Whether the thread has ended: jobs go to the global executor instead.
        var ended = false
        /// Tasks sleeping on the engine's loop (``EngineCore/sleep(until:)``).
        var timers = EngineTimers<UnsafeContinuation<EngineSleepEnding, Never>>()
        var nextID: UInt64 = 0
        var stopping = false
        var statistics = CurlEngine.Statistics()
    }

    private let state = Mutex(State())
    /// The engine thread's `pthread_t`, once it runs (0 before).
    private let engineThread = Atomic<UInt>(0)
    /// Callers between taking the handle's address (under the lock) and their `curl_multi_wakeup` (outside it).
    private let wakersInFlight = Atomic<Int>(0)
    /// The bound on the multi handle's connection cache (`CURLMOPT_MAXCONNECTS`).
    let maxIdleConnections: Int
    /// How many reset easy handles are kept for later transfers at most; more are cleaned up. Each holds libcurl's
    /// receive buffer (16 KB), and more transfers than this rarely run at once.
    static let maxIdleHandles = 32

    init(maxIdleConnections: Int) {
        self.maxIdleConnections = maxIdleConnections
    }

    /// Whether the caller runs on the engine thread.
    var isCurrentThread: Bool {
        let engine = self.engineThread.load(ordering: .acquiring)
        return engine != 0 && engine == UInt(pthread_self())
    }

    /// The counters so far.
    var statistics: CurlEngine.Statistics { self.state.withLock { $0.statistics } }
    private let shutdownMessage = "the curl engine was shut down"
    /// How long `curl_multi_poll` may sleep when libcurl has no earlier timer; wake-ups cut it short.
    private let idlePollMilliseconds: Int32 = 1000

    // MARK: - Caller side

    /// Runs a planned transfer on the engine thread, cancelling it if the calling task is cancelled.
    func run(_ plan: TransferPlan) async -> Result<TransferOutcome, CurlError> {
        let id = self.state.withLock { state in
            state.nextID += 1
            state.phases[state.nextID] = .registered
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: TransferContinuation) in
                self.submit(Submission(id: id, plan: plan, continuation: continuation))
            }
        } onCancel: {
            self.cancel(id: id)
        }
    }

    private func submit(_ submission: Submission) {
        let (rejection, wakeUp): (CurlError?, UInt?) = self.state.withLock { state in
            if state.stopping {
                state.phases[submission.id] = nil
                let error = CurlError(code: .cancelled, message: self.shutdownMessage, url: submission.plan.redactedURL)
                return (error, nil)
            }
            if state.phases[submission.id] == .cancelledEarly {
                state.phases[submission.id] = nil
                let error = CurlError(
                    code: .cancelled,
                    message: "the task was cancelled before the transfer started",
                    url: submission.plan.redactedURL
                )
                return (error, nil)
            }
            state.phases[submission.id] = .submitted
            state.incoming.append(submission)
            return (nil, self.claimWakeUp(&state))
        }
        self.wake(wakeUp)
        if let rejection {
            submission.continuation.resume(returning: .failure(rejection))
        }
    }

    /// Queues a job of a task that prefers the engine; it runs on the engine thread. Once the thread has ended (a
    /// shut-down engine) the job runs on the global executor, so that no task waits for ever.
    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let (ended, wakeUp): (Bool, UInt?) = self.state.withLock { state in
            if state.ended { return (true, nil) }
            state.jobs.append(unowned)
            return (false, self.claimWakeUp(&state))
        }
        if ended {
            globalConcurrentExecutor.enqueue(unowned)
            return
        }
        self.wake(wakeUp)
    }

    /// Sleeps until `deadline` on the engine's loop: the loop wakes for the earliest deadline and resumes the task
    /// there, so a task that prefers the engine starts its next request on the same thread with no timer thread and
    /// no hand-off. Deadlines up to ``timerSlack`` ahead are taken together with a due one.
    func sleep(until deadline: ContinuousClock.Instant) async -> EngineSleepEnding {
        let id = self.state.withLock { $0.timers.register() }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<EngineSleepEnding, Never>) in
                let (ending, wakeUp): (EngineSleepEnding?, UInt?) = self.state.withLock { state in
                    if state.stopping || state.ended {
                        state.timers.forget(id)
                        return (.engineStopped, nil)
                    }
                    guard state.timers.queue(id, deadline: deadline, continuation) else { return (.cancelled, nil) }
                    return (nil, self.claimWakeUp(&state))
                }
                self.wake(wakeUp)
                if let ending { continuation.resume(returning: ending) }
            }
        } onCancel: {
            let continuation = self.state.withLock { $0.timers.cancel(id) }
            continuation?.resume(returning: .cancelled)
        }
    }

    /// How far ahead of its deadline a wait may be resumed with an earlier one: one wake-up of the loop serves
    /// every poll due within it.
    static let timerSlack = Duration.milliseconds(1)

    /// Claims the wake-up of a sleeping engine, under the lock; see ``State/claimWakeUp()``.
    private func claimWakeUp(_ state: inout State) -> UInt? {
        guard let address = state.claimWakeUp() else { return nil }
        // Relaxed is enough: the lock orders this before the thread's withdrawal of the address.
        self.wakersInFlight.add(1, ordering: .relaxed)
        return address
    }

    /// Interrupts the engine thread's `curl_multi_poll`, outside the lock, for a caller that claimed the wake-up.
    private func wake(_ multiAddress: UInt?) {
        guard let multiAddress else { return }
        if let multi = UnsafeMutableRawPointer(bitPattern: multiAddress) {
            _ = curl_multi_wakeup(multi)
        }
        self.wakersInFlight.subtract(1, ordering: .releasing)
    }

    private func cancel(id: UInt64) {
        let wakeUp: UInt? = self.state.withLock { state in
            switch state.phases[id] {
            case .registered:
                // The cancellation handler can run before the operation has queued anything.
                state.phases[id] = .cancelledEarly
                return nil
            case .submitted:
                state.cancellations.append(id)
                return self.claimWakeUp(&state)
            case .cancelledEarly, nil:
                return nil
            }
        }
        self.wake(wakeUp)
    }

    /// Makes the engine thread cancel everything and exit; later submissions fail with `cancelled`.
    func shutdown() {
        let wakeUp = self.state.withLock { state in
            state.stopping = true
            return self.claimWakeUp(&state)
        }
        self.wake(wakeUp)
    }

    // MARK: - Engine thread

    /// The engine thread's body: owns the multi handle and all easy handles until shutdown.
    func runLoop() {
        self.engineThread.store(UInt(pthread_self()), ordering: .releasing)
        Self.nameSystemThread("obwatch-curl")
        do {
            try CurlGlobal.initialise()
        } catch {
            self.failQueued(message: error.message)
            return
        }
        guard let multi = curl_multi_init() else {
            self.failQueued(message: "libcurl could not create a multi handle")
            return
        }
        // Without a bound libcurl keeps 4 connections per handle *currently* in the multi handle, so with many
        // targets and few transfers in flight it closed most connections after each transfer.
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, self.maxIdleConnections)
        let address = UInt(bitPattern: multi)
        self.state.withLock { $0.multiAddress = address }

        let handles = EasyHandlePool(capacity: Self.maxIdleHandles)
        var active: [UInt64: Transfer] = [:]
        var idsByHandle: [UnsafeMutableRawPointer: UInt64] = [:]

        func finish(_ transfer: Transfer, _ result: Result<TransferOutcome, CurlError>) {
            var connects = 0
            _ = ccurl_easy_getinfo_long(transfer.easy, CURLINFO_NUM_CONNECTS, &connects)
            _ = curl_multi_remove_handle(multi, transfer.easy)
            active[transfer.id] = nil
            idsByHandle[transfer.easy] = nil
            self.state.withLock { state in
                _ = state.phases.removeValue(forKey: transfer.id)
                state.statistics.transfers += 1
                state.statistics.connectionsOpened += max(connects, 0)
            }
            transfer.continuation.resume(returning: result)
        }

        // Swapped with the shared queues under the lock, so neither side allocates a new array per round.
        var incoming: [Submission] = []
        var cancellations: [UInt64] = []
        var jobs: [UnownedJob] = []
        let executor = self.asUnownedTaskExecutor()
        let clock = ContinuousClock()
        while true {
            // Due sleepers first: resumed, their tasks queue jobs (when they prefer the engine, on this thread).
            let due = self.state.withLock { state in
                state.engineSleeps = false
                return state.timers.takeDue(at: clock.now.advanced(by: Self.timerSlack))
            }
            for sleeper in due { sleeper.resume(returning: .fired) }
            // Jobs next: what they submit is started in the same round.
            self.state.withLock { state in
                swap(&jobs, &state.jobs)
            }
            for job in jobs { job.runSynchronously(on: executor) }
            jobs.removeAll(keepingCapacity: true)
            let stopping = self.state.withLock { state in
                swap(&incoming, &state.incoming)
                swap(&cancellations, &state.cancellations)
                return state.stopping
            }

            for submission in incoming {
                self.start(submission, multi: multi, handles: handles, active: &active, idsByHandle: &idsByHandle)
            }
            incoming.removeAll(keepingCapacity: true)
            for id in cancellations {
                if let transfer = active[id] {
                    finish(transfer, .failure(transfer.cancellation("the task was cancelled")))
                }
            }
            cancellations.removeAll(keepingCapacity: true)
            if stopping {
                for transfer in Array(active.values) {
                    finish(transfer, .failure(transfer.cancellation(self.shutdownMessage)))
                }
                break
            }

            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                    let id = idsByHandle[easy], let transfer = active[id]
                else { continue }
                let result = message.pointee.data.result
                finish(transfer, transfer.outcome(result))
            }
            // Sleep only with nothing queued, and no longer than the earliest sleeper; from here on a caller that
            // queues work (or a sleeper) wakes the thread.
            let sleepMilliseconds: Int32? = self.state.withLock { state in
                guard state.incoming.isEmpty, state.cancellations.isEmpty, state.jobs.isEmpty, !state.stopping else {
                    return nil
                }
                state.engineSleeps = true
                guard let earliest = state.timers.earliestDeadline else { return self.idlePollMilliseconds }
                return Self.milliseconds(until: earliest, from: clock.now, atMost: self.idlePollMilliseconds)
            }
            if let sleepMilliseconds {
                _ = curl_multi_poll(multi, nil, 0, sleepMilliseconds, nil)
            }
        }

        self.state.withLock { state in
            state.multiAddress = 0
            state.engineSleeps = false
        }
        // Jobs still queued (and any they queue) run on, here, until none is left; later ones go to the global
        // executor (``enqueue(_:)``).
        while true {
            let queued: [UnownedJob] = self.state.withLock { state in
                defer { state.jobs.removeAll() }
                if state.jobs.isEmpty { state.ended = true }
                return state.jobs
            }
            if queued.isEmpty { break }
            for job in queued { job.runSynchronously(on: executor) }
        }
        // A caller that took the address before it was withdrawn may still be in `curl_multi_wakeup`.
        while self.wakersInFlight.load(ordering: .acquiring) > 0 { sched_yield() }
        self.failQueued(message: self.shutdownMessage)
        active.removeAll()
        handles.drain()
        curl_multi_cleanup(multi)
    }

    private typealias SetThreadName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32

    /// Names the calling thread for the system: Foundation keeps `Thread.name` to itself on Linux, and the system's
    /// name is what `top -H`, `ps -L` and `perf` show (the poll loops run on this thread). glibc's
    /// `pthread_setname_np` is looked up at run time: the Glibc module does not declare it.
    private static func nameSystemThread(_ name: String) {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setname_np") else { return }
        let setName = unsafeBitCast(symbol, to: SetThreadName.self)
        _ = name.withCString { setName(pthread_self(), $0) }
    }

    /// Whole milliseconds from `now` to `deadline`, rounded up (a wake-up before the deadline would find nothing
    /// due), within `0...limit`.
    static func milliseconds(
        until deadline: ContinuousClock.Instant,
        from now: ContinuousClock.Instant,
        atMost limit: Int32
    ) -> Int32 {
        let milliseconds = (now.duration(to: deadline) / .milliseconds(1)).rounded(.up)
        return Int32(min(max(milliseconds, 0), Double(limit)))
    }

    private func start(
        _ submission: Submission,
        multi: UnsafeMutableRawPointer,
        handles: EasyHandlePool,
        active: inout [UInt64: Transfer],
        idsByHandle: inout [UnsafeMutableRawPointer: UInt64]
    ) {
        guard
            let transfer = Transfer(
                id: submission.id,
                plan: submission.plan,
                continuation: submission.continuation,
                handles: handles
            )
        else {
            self.state.withLock { _ = $0.phases.removeValue(forKey: submission.id) }
            let error = CurlError(
                code: .other,
                message: "libcurl could not create an easy handle",
                url: submission.plan.redactedURL
            )
            submission.continuation.resume(returning: .failure(error))
            return
        }
        do throws(CurlError) {
            try transfer.configure()
            let added = curl_multi_add_handle(multi, transfer.easy)
            guard added == CURLM_OK else {
                throw CurlError(
                    code: .other,
                    message: "libcurl could not start the transfer (CURLMcode \(added.rawValue))",
                    url: submission.plan.redactedURL
                )
            }
        } catch {
            self.state.withLock { _ = $0.phases.removeValue(forKey: submission.id) }
            transfer.continuation.resume(returning: .failure(error))
            return
        }
        active[submission.id] = transfer
        idsByHandle[transfer.easy] = submission.id
    }

    /// Fails whatever is still queued; used when the thread cannot start or is exiting. Sleepers wait on their own
    /// from here (``CurlEngine/sleep(until:)``), and jobs go to the global executor.
    private func failQueued(message: String) {
        let (queued, jobs, sleepers) = self.state.withLock { state in
            state.stopping = true
            state.ended = true
            let queued = state.incoming
            state.incoming.removeAll()
            for submission in queued {
                state.phases[submission.id] = nil
            }
            defer { state.jobs.removeAll() }
            return (queued, state.jobs, state.timers.takeAll())
        }
        for sleeper in sleepers { sleeper.resume(returning: .engineStopped) }
        for job in jobs { globalConcurrentExecutor.enqueue(job) }
        for submission in queued {
            let error = CurlError(code: .cancelled, message: message, url: submission.plan.redactedURL)
            submission.continuation.resume(returning: .failure(error))
        }
    }
}

/// Reset easy handles waiting for the next transfer, owned by the engine thread alone (like every easy handle).
///
/// A handle that leaves the multi handle is reset (`curl_easy_reset`: every option back to its default, so nothing of
/// one request leaks into the next) and kept; its connection stays in the multi handle's cache either way.
final class EasyHandlePool {
    private var idle: [UnsafeMutableRawPointer] = []
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    deinit {
        self.drain()
    }

    /// A reset handle, or a new one; `nil` when libcurl cannot allocate one.
    func take() -> UnsafeMutableRawPointer? {
        self.idle.popLast() ?? curl_easy_init()
    }

    /// Takes back a handle that is in no multi handle; it is reset now, or cleaned up when the pool is full.
    func give(_ easy: UnsafeMutableRawPointer) {
        guard self.idle.count < self.capacity else {
            curl_easy_cleanup(easy)
            return
        }
        curl_easy_reset(easy)
        self.idle.append(easy)
    }

    /// Cleans every idle handle up (the engine is stopping).
    func drain() {
        for easy in self.idle { curl_easy_cleanup(easy) }
        self.idle.removeAll()
    }
}
