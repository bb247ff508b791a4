import Foundation
import ObshellModel
import Testing
import Tracker

/// SplitMix64: a tiny seeded generator, so every run explores the same sequences.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = self.state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Random observations against the invariants of CONTRACT section 4.
struct PropertyTests {
    static let ids = ["11", "12", "13"]
    static let states: [TaskState] = [.ready, .running, .running, .failed, .succeed, TaskState(rawValue: "PENDING")]
    static let operators: [TaskOperator] = [.run, .run, .rollback, .cancel, .pass]

    static func randomDag(_ id: String, _ random: inout SeededGenerator) -> Dag {
        var dag = Fixture.dag(
            id: id,
            stage: Int.random(in: 1...9, using: &random),
            state: Self.states.randomElement(using: &random) ?? .running,
            operator: Self.operators.randomElement(using: &random) ?? .run,
            nodeOperator: Bool.random(using: &random) ? .retry : nil,
            logs: (0..<Int.random(in: 0...2, using: &random)).map { "line \($0)\r\n🚨" },
            executeTimes: Int.random(in: 1...2, using: &random),
            maintenance: Bool.random(using: &random) ? 2 : 1
        )
        if Int.random(in: 0..<10, using: &random) == 0 { dag.nodes = nil }
        return dag
    }

    /// Whether `dag` runs forward with the node `id` retried or run again.
    static func showsARunAgain(_ dag: Dag, node id: String?) -> Bool {
        dag.operator == .run
            && (dag.nodes ?? []).contains { $0.id == id && ($0.operator == .retry || $0.operator == .run) }
    }

    static func randomObservation(_ time: ObshellTime, _ random: inout SeededGenerator) -> Observation {
        switch Int.random(in: 0..<20, using: &random) {
        case 0..<3:
            return .failedPoll(reason: "connection refused", kind: .connect, at: time)
        case 3..<7:
            let id = Self.ids.randomElement(using: &random) ?? "11"
            let result: ConfirmationResult
            switch Int.random(in: 0..<3, using: &random) {
            case 0: result = .notFound
            case 1: result = .failed(reason: "HTTP 500")
            default: result = .found(Self.randomDag(id, &random))
            }
            return .confirmation(id: id, result: result, at: time)
        default:
            let dags = Self.ids.filter { _ in Int.random(in: 0..<3, using: &random) > 0 }.map {
                Self.randomDag($0, &random)
            }
            return .list(dags, at: time)
        }
    }

    /// The final `state/operator` an observation shows for a DAG, if any.
    static func shownFinal(_ observation: Observation, dagID: String) -> [Dag] {
        switch observation {
        case .list(let dags, _): dags.filter { $0.id == dagID }
        case .confirmation(let id, .found(let dag), _) where id == dagID: [dag]
        default: []
        }
    }

    static func justifies(_ type: EventType, _ dag: Dag) -> Bool {
        switch type {
        case .failed: dag.state == .failed && dag.operator != .cancel
        case .cancelled: dag.state == .failed && dag.operator == .cancel
        case .passed: dag.state == .succeed && dag.operator == .pass
        case .rolledBack: dag.state == .succeed && dag.operator == .rollback
        case .succeeded: dag.state == .succeed && dag.operator != .pass && dag.operator != .rollback
        default: true
        }
    }

    static func run(seed: UInt64, steps: Int, restartEveryStep: Bool) throws -> [Event] {
        var random = SeededGenerator(seed: seed)
        let settings = TrackerSettings(
            downAfter: 2,
            confirmWithin: .seconds(1200),
            stallThresholds: [TrackerSettings.defaultStallAfter, StallThreshold("1h")!]
        )
        var state = TrackerState()
        var time = Fixture.start
        var all: [Event] = []
        // Episode bookkeeping: what fired since the last end of its episode.
        var openFailed = Set<String>()
        var openNodes = Set<String>()
        var openStalls = Set<String>()
        var downOpen = false
        for _ in 0..<steps {
            time = time.adding(.seconds(Int64.random(in: 1...900, using: &random)))
            let observation = Self.randomObservation(time, &random)
            let step = Tracker.step(state, observation, settings: settings, target: Fixture.target)
            if restartEveryStep {
                state = try JSONDecoder().decode(TrackerState.self, from: try JSONEncoder().encode(step.state))
            } else {
                state = step.state
            }
            if case .failedPoll = observation {
                #expect(step.events.allSatisfy { $0.type == .targetDown }, "seed \(seed): a failed poll fired")
            }
            if case .list(let dags, _) = observation {
                let listed = Set(dags.map(\.id))
                #expect(step.confirmations.allSatisfy { !listed.contains($0) })
            } else {
                #expect(step.confirmations.isEmpty)
            }
            for event in step.events {
                #expect(event.at == time)
                let dagID = event.dag?.id ?? ""
                if event.observedLate == true {
                    // A failure reported late is shown by the retry after it, not by a final state.
                    let shown = Self.shownFinal(observation, dagID: dagID)
                    #expect(
                        shown.contains { Self.showsARunAgain($0, node: event.node?.id) },
                        "seed \(seed): late \(event.type) without its node running again"
                    )
                } else if event.type.isFinal {
                    let shown = Self.shownFinal(observation, dagID: dagID)
                    #expect(
                        shown.contains { Self.justifies(event.type, $0) },
                        "seed \(seed): \(event.type) without a final state shown"
                    )
                }
                switch event.type {
                case .failed:
                    #expect(openFailed.insert(dagID).inserted, "seed \(seed): second failed in one episode")
                case .nodeFailed:
                    let key = dagID + "/" + (event.node?.id ?? "")
                    #expect(openNodes.insert(key).inserted, "seed \(seed): second node_failed in one episode")
                case .retried, .rollbackStarted, .succeeded, .passed, .rolledBack, .cancelled:
                    openFailed.remove(dagID)
                    openNodes = openNodes.filter { !$0.hasPrefix(dagID + "/") }
                case .stalled:
                    let key = dagID + "/" + (event.threshold ?? "")
                    #expect(openStalls.insert(key).inserted, "seed \(seed): second stalled in one episode")
                case .resumed:
                    openStalls = openStalls.filter { !$0.hasPrefix(dagID + "/") }
                case .targetDown:
                    #expect(!downOpen, "seed \(seed): second target_down")
                    downOpen = true
                case .targetUp:
                    #expect(downOpen)
                    downOpen = false
                default:
                    break
                }
                let line = event.jsonLine()
                #expect(try JSONDecoder().decode(Event.self, from: Data(line.utf8)) == event)
            }
            all += step.events
        }
        return all
    }

    @Test(arguments: 0..<200)
    func randomSequencesKeepTheInvariants(seed: Int) throws {
        let events = try Self.run(seed: UInt64(seed), steps: 50, restartEveryStep: false)
        #expect(Set(events.map(\.id)).count == events.count, "seed \(seed): ids are not unique")
        #expect(events.filter { $0.type == .started }.count <= Self.ids.count)
        // Replaying gives the same ids; so does restarting (state through JSON) at every step.
        #expect(try Self.run(seed: UInt64(seed), steps: 50, restartEveryStep: false) == events)
        #expect(try Self.run(seed: UInt64(seed), steps: 50, restartEveryStep: true) == events)
    }
}
