import Foundation
import ObwatchTestKit
import Pipeline
import Synchronization
import Testing

@Suite("the ticker")
struct TickerTests {
    @Test("wakes every period on the injected clock; each job runs when its own interval has passed")
    func jobsAtTheirIntervals() async throws {
        let clock = ImmediateClock(stopAfter: 7)
        let runs = Mutex<[String: [Date]]>([:])
        func job(_ name: String, every: Duration) -> Ticker.Job {
            Ticker.Job(name, every: every) { now in runs.withLock { $0[name, default: []].append(now) } }
        }
        let ticker = Ticker(clock: clock, jobs: [job("each", every: .zero), job("every3", every: .seconds(3))])
        await #expect(throws: CancellationError.self) { try await ticker.run() }
        #expect(clock.waits == Array(repeating: .seconds(1), count: 7))
        let each = runs.withLock { $0["each"] ?? [] }
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(each == (1...6).map { start.addingTimeInterval(Double($0)) })
        #expect(runs.withLock { $0["every3"] ?? [] } == [3, 6].map { start.addingTimeInterval(Double($0)) })
    }
}
