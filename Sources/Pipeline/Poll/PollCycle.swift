package import Curl
package import ObshellAgent
package import ObshellModel
package import Support
package import Tracker

/// One poll of a target and the confirmations the tracker asks for after it: each answer read through
/// ``AgentAnswer``, observed by the target's journal, and returned with the exchanges that made it (what
/// `--record` writes). It saves nothing and hands nothing on; ``TargetPoller`` does, and the bench times this alone.
package struct PollCycle: Sendable {
    /// An observation, the tracker's step on it, and the exchanges it was read from.
    package struct Observed: Sendable {
        /// What the tracker observed.
        package var observation: Observation
        /// What the tracker did with it.
        package var step: TrackerStep
        /// The requests it took, oldest first.
        package var exchanges: [ObshellClient.Exchange]

        /// The observation's events, as they are handed on.
        package var batch: EventBatch { EventBatch(events: self.step.events, at: self.observation.at) }
    }

    /// What one cycle gave.
    package struct Result: Sendable {
        /// The poll, then each confirmation, in order; empty when the poll was cut short by a stop or a reload
        /// (which observes nothing, so it never counts toward `target_down`).
        package var observed: [Observed]
        /// The exchanges of a poll cut short (recorded all the same).
        package var abandoned: [ObshellClient.Exchange] = []
        /// How long the poll took, confirmations not included.
        var pollDuration: Duration = .zero

        /// Every exchange, in order.
        package var exchanges: [ObshellClient.Exchange] { self.observed.flatMap(\.exchanges) + self.abandoned }
        /// The events of each observation, in order (empty batches included).
        package var batches: [EventBatch] { self.observed.map(\.batch) }
    }

    private let client: ObshellClient
    private let clock: any ObwatchClock

    /// Makes a cycle.
    /// - Parameters:
    ///   - client: The target's agent; it stamps exchanges with the time observations carry.
    ///   - clock: The time of an observation no exchange was made for.
    package init(client: ObshellClient, clock: any ObwatchClock) {
        self.client = client
        self.clock = clock
    }

    /// The curl engine of the client's transport, if it has one: the cycle runs on its thread.
    package var engine: CurlEngine? { self.client.engine }

    /// Polls, then confirms what the poll's step asks for, each observed by `journal` in turn.
    ///
    /// The cycle runs on the curl engine's thread (``engine``): its requests go out and its
    /// answers are read, decoded and stepped there without a hand-off between threads. Nothing in it waits for a
    /// disk: the caller saves and hands on after it.
    package func run(into journal: TargetJournal) async -> Result {
        await withTaskExecutorPreference(self.engine?.taskExecutor) {
            await self.cycle(into: journal)
        }
    }

    private func cycle(into journal: TargetJournal) async -> Result {
        let stopwatch = Stopwatch(self.clock)
        let poll = await self.client.readUnfinished(showDetails: true)
        if poll.cancelled { return Result(observed: [], abandoned: poll.exchanges) }
        let observation = Observation.poll(poll.outcome, at: self.time(of: poll))
        // A list identical to the last one (same fingerprint) only moves the tracker's clocks.
        let step = await journal.observe(
            observation,
            agentTime: poll.outcome.agentTime,
            listFingerprint: poll.listFingerprint
        )
        var result = Result(
            observed: [Observed(observation: observation, step: step, exchanges: poll.exchanges)],
            pollDuration: stopwatch.elapsed
        )
        for id in step.confirmations {
            let reading = await self.client.readDag(id: id, showDetails: true)
            let confirmation = Observation.confirmation(id: id, reading.outcome, at: self.time(of: reading))
            let confirmed = await journal.observe(confirmation)
            result.observed.append(Observed(observation: confirmation, step: confirmed, exchanges: reading.exchanges))
        }
        return result
    }

    /// When the reading's answer came, or the clock when no exchange was made.
    private func time(of reading: ObshellClient.Reading) -> ObshellTime {
        ObshellTime(date: reading.exchanges.last?.at ?? self.clock.wallNow)
    }
}
