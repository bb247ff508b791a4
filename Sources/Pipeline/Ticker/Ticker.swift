package import Foundation
package import ServiceLifecycle
package import Support

/// The daemon's heartbeat of its own: wakes every ``period`` on the injected clock and runs each job whose own
/// interval has passed since it last ran (reminders and `group_wait` that fall due between polls, outbox metrics,
/// the watcher's problems and heartbeat, the systemd watchdog, memory trimming).
///
/// Jobs run one after another, in the order given, so a job that hangs (a stuck router) holds back the ones after
/// it: the watchdog comes last, and a daemon that cannot route stops pinging it.
package struct Ticker: Service {
    /// One job of the ticker.
    package struct Job: Sendable {
        /// What it is, for logs.
        package var name: String
        /// How often it runs; at most once per wake-up, so anything up to the ticker's period means every time.
        package var every: Duration
        /// The work, given the wall time of the wake-up.
        package var run: @Sendable (_ now: Date) async -> Void

        /// Makes a job.
        package init(_ name: String, every: Duration, run: @escaping @Sendable (_ now: Date) async -> Void) {
            self.name = name
            self.every = every
            self.run = run
        }
    }

    /// The time between two wake-ups (after the jobs of one ran).
    package let period: Duration
    private let clock: any ObwatchClock
    private let jobs: [Job]

    /// Makes a ticker.
    /// - Parameters:
    ///   - clock: What it sleeps on, and the wall time its jobs are given.
    ///   - period: The time between two wake-ups.
    ///   - jobs: What runs, in order.
    package init(clock: any ObwatchClock, period: Duration = .seconds(1), jobs: [Job]) {
        self.clock = clock
        self.period = period
        self.jobs = jobs
    }

    /// Ticks until the task is cancelled or a graceful shutdown.
    package func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.loop(on: self.clock)
        }
    }

    private func loop<C: ObwatchClock>(on clock: C) async throws {
        let started = clock.now
        var lastRun = [Duration](repeating: .zero, count: self.jobs.count)
        while !Task.isCancelled {
            try await clock.sleep(until: clock.now.advanced(by: self.period), tolerance: nil)
            let now = clock.wallNow
            for (index, job) in self.jobs.enumerated() {
                let elapsed = started.duration(to: clock.now)
                guard elapsed - lastRun[index] >= job.every else { continue }
                await job.run(now)
                lastRun[index] = started.duration(to: clock.now)
            }
        }
    }
}
