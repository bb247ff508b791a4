import ObshellModel
import Simulator
import Testing

@Suite struct ScenarioStateTests {
    private func state(_ name: String, at time: Duration) throws -> ScenarioState {
        var state = ScenarioState(scenario: try bundledScenario(name))
        state.advance(to: time)
        return state
    }

    @Test func scaleOutSucceedsWithinAMinute() throws {
        let middle = try self.state("scale-out.yaml", at: .seconds(15))
        #expect(middle.dag(id: "11")?.stage == 5)
        #expect(middle.dag(id: "11")?.nodes?[3].state == .succeed)
        #expect(middle.dag(id: "11")?.nodes?[4].subTasks.first?.executeTimes == 1)
        let end = try self.state("scale-out.yaml", at: .seconds(60))
        let dag = try #require(end.dag(id: "11"))
        #expect(dag.state == .succeed && dag.operator == .run && dag.stage == 9)
        #expect(end.unfinishedDags.isEmpty)
        #expect(dag.endTime?.text == "2024-01-10T11:35:23.708662+08:00")
    }

    @Test func failedMaintenanceDagStaysUnfinishedThenRetrySucceeds() throws {
        let failed = try self.state("scale-out-fails.yaml", at: .seconds(30))
        let dag = try #require(failed.dag(id: "11"))
        #expect(dag.state == .failed && dag.operator == .run && dag.stage == 7)
        #expect(failed.unfinishedDags.map(\.id) == ["11"])
        let task = try #require(dag.nodes?[6].subTasks.first)
        #expect(task.state == .failed)
        #expect(task.lastLog?.hasPrefix("ERROR: [MySQL.Error]: Error 4012") == true)

        let retried = try self.state("scale-out-fails.yaml", at: .seconds(60))
        let ready = try #require(retried.dag(id: "11"))
        #expect(ready.state == .ready && ready.operator == .run)
        #expect(ready.startTime?.isEpoch == true && ready.endTime?.isEpoch == true)
        #expect(ready.nodes?[6].state == .pending && ready.nodes?[6].operator == .retry)

        let running = try self.state("scale-out-fails.yaml", at: .seconds(65))
        #expect(running.dag(id: "11")?.state == .running)
        #expect(running.dag(id: "11")?.nodes?[6].subTasks.first?.executeTimes == 2)

        let end = try self.state("scale-out-fails.yaml", at: .seconds(90))
        #expect(end.dag(id: "11")?.state == .succeed && end.dag(id: "11")?.operator == .run)
    }

    @Test func stallMakesNoProgressForThirtyFiveMinutes() throws {
        let early = try self.state("stall.yaml", at: .seconds(21))
        let late = try self.state("stall.yaml", at: .seconds(35 * 60 + 19))
        #expect(early.dag(id: "142") == late.dag(id: "142"))
        #expect(late.dag(id: "142")?.state == .running && late.dag(id: "142")?.stage == 2)
        let end = try self.state("stall.yaml", at: .seconds(36 * 60))
        #expect(end.dag(id: "142")?.state == .succeed)
    }

    @Test func rollbackWalksDownToStageOne() throws {
        let walking = try self.state("rollback.yaml", at: .seconds(70))
        let dag = try #require(walking.dag(id: "17"))
        #expect(dag.operator == .rollback && dag.state == .running && dag.stage == 2)
        let end = try self.state("rollback.yaml", at: .seconds(95))
        let done = try #require(end.dag(id: "17"))
        #expect(done.state == .succeed && done.operator == .rollback && done.stage == 1)
        #expect(end.unfinishedDags.isEmpty)
    }

    @Test func flakyAgentBackupEnds() throws {
        let end = try self.state("flaky-agent.yaml", at: .seconds(180))
        #expect(end.dag(id: "1105")?.state == .succeed)
        #expect(end.keyGeneration == 1)
    }

    @Test func cancelAndPassEndAsObshellDoes() throws {
        let text = """
            agent: {ip: 10.0.0.1, identity: SINGLE}
            time_zero: "2024-01-10T00:00:00Z"
            dags:
              - {dag_id: 1, name: A, maintenance_type: 2, state: RUNNING, nodes: [a, b]}
              - {dag_id: 2, name: B, maintenance_type: 2, state: RUNNING, nodes: [a, b, c]}
            steps:
              - {at: 1s, dag: "11", do: cancel}
              - {at: 1s, dag: "12", do: fail, message: boom}
              - {at: 2s, dag: "12", do: pass}
            """
        var state = ScenarioState(scenario: try Scenario.parse(text, file: "t.yaml"))
        state.advance(to: .seconds(2))
        let cancelled = try #require(state.dag(id: "11"))
        #expect(cancelled.state == .failed && cancelled.operator == .cancel)
        #expect(cancelled.nodes?[0].subTasks.first?.lastLog == "sub task cancelled")
        #expect(state.unfinishedDags.map(\.id) == ["11"])
        let passed = try #require(state.dag(id: "12"))
        #expect(passed.state == .succeed && passed.operator == .pass)
        #expect(passed.nodes?.map(\.operator) == [.pass, .pass, .pass])
    }
}
