import Pipeline
import Testing

@Suite("the poll schedule: first polls spread over the first interval, the first target's at once")
struct PollScheduleTests {
    @Test("the first target's first poll is at once, whatever the jitter; a lone target too")
    func firstTargetAtOnce() {
        #expect(PollSchedule.firstPhase(index: 0, of: 100, jitter: 0.7) == 0)
        #expect(PollSchedule.firstPhase(index: 0, of: 1, jitter: 0.7) == 0)
        #expect(
            PollSchedule(interval: .seconds(5)).firstDelay(
                unit: PollSchedule.firstPhase(index: 0, of: 100, jitter: 0.99)
            ) == .zero
        )
    }

    @Test("each other target falls in a slot of its own: one per interval/count, the jitter placing it within")
    func slots() {
        let schedule = PollSchedule(interval: .seconds(10))
        #expect(schedule.firstDelay(unit: PollSchedule.firstPhase(index: 1, of: 4, jitter: 0)) == .milliseconds(2500))
        #expect(schedule.firstDelay(unit: PollSchedule.firstPhase(index: 2, of: 4, jitter: 0.5)) == .milliseconds(6250))
        #expect(schedule.firstDelay(unit: PollSchedule.firstPhase(index: 3, of: 4, jitter: 1)) == .seconds(10))
        // Out-of-range inputs stay within the interval.
        #expect(PollSchedule.firstPhase(index: 9, of: 4, jitter: 7) == 1)
        #expect(PollSchedule.firstPhase(index: 1, of: 4, jitter: -3) == 0.25)
    }

    @Test("2,000 targets with any jitter: every slot of the first interval holds exactly one first poll")
    func evenRate() {
        let count = 2000
        var perSlot = [Int](repeating: 0, count: count)
        for index in 0..<count {
            // Jitters away from the slots' edges, where rounding could tip a phase into the next slot.
            let jitter = Double((index * 7919) % 998 + 1) / 1000
            let phase = PollSchedule.firstPhase(index: index, of: count, jitter: jitter)
            perSlot[min(Int(phase * Double(count)), count - 1)] += 1
        }
        #expect(perSlot.allSatisfy { $0 == 1 })
    }
}
