import ObshellModel
import Testing

@testable import ObwatchApp

@Suite("obwatch tasks output")
struct TaskListViewTests {
    private func dag(stage: Int, state: TaskState = .running, name: String = "Cluster scale out") -> Dag {
        Dag(
            id: "11",
            dagID: 1,
            name: name,
            stage: stage,
            maxStage: 9,
            state: state,
            operator: .run,
            startTime: ObshellTime("2024-01-10T11:34:22.556477+08:00"),
            endTime: ObshellTime("2024-01-10T11:34:22.47652+08:00"),
            nodes: (1...9).map { index in
                DagNode(
                    id: "1\(index)",
                    nodeID: Int64(index),
                    name: "Node \(index)",
                    state: index < stage ? .succeed : (index == stage ? state : .pending),
                    operator: .run,
                    subTasks: index == stage && state == .failed
                        ? [
                            SubTask(
                                id: "1\(index)",
                                taskID: Int64(index),
                                name: "Node \(index)",
                                state: .failed,
                                operator: .run,
                                executeAgent: SubTask.Agent(ip: "10.10.10.2", port: 2886),
                                taskLogs: ["start", "ERROR: [Agent.X]: disk full\r\nforged line"]
                            )
                        ] : []
                )
            }
        )
    }

    @Test("a running DAG: bar, stage, state, elapsed by the agent's clock, current node")
    func running() throws {
        let agentTime = try #require(ObshellTime("2024-01-10T11:46:25.556477+08:00"))
        let lines = TaskListView().lines(for: [self.dag(stage: 4)], agentTime: agentTime)
        #expect(
            lines == [
                "[######--------------] 4/9  Cluster scale out  RUNNING/RUN  12m03s  id 11",
                "    at: Node 4 (RUNNING)",
            ]
        )
    }

    @Test("a failed DAG shows the failed sub-task's agent and last log line, with control characters escaped")
    func failed() {
        let lines = TaskListView().lines(for: [self.dag(stage: 5, state: .failed, name: "x\u{1B}[2J")], agentTime: nil)
        #expect(lines.first?.hasPrefix("[########------------] 5/9  x\\u{1b}[2J  FAILED/RUN") == true)
        #expect(lines.last == "    failed: Node 5: 10.10.10.2:2886 ERROR: [Agent.X]: disk full\\r\\nforged line")
    }

    @Test("nothing unfinished")
    func empty() {
        #expect(TaskListView().lines(for: [], agentTime: nil) == ["No unfinished task."])
    }

    @Test("durations", arguments: [(5, "5s"), (63, "1m03s"), (7500, "2h05m"), (273_600, "3d04h")])
    func durations(seconds: Int64, text: String) {
        #expect(DurationText.compact(.seconds(seconds)) == text)
    }

    @Test("URLs are shown without credentials or query")
    func redaction() {
        let redacted = Redacted.url("http://root:pw@10.0.0.5:2886/x?token=abc")
        #expect(!redacted.contains("pw") && !redacted.contains("abc") && !redacted.contains("root"))
        #expect(redacted.hasPrefix("http://<redacted>@10.0.0.5:2886/x"))
        #expect(Redacted.url("https://10.0.0.5:2886") == "https://10.0.0.5:2886")
        #expect(
            Redacted.url("unix:///home/admin/obshell/run/obshell.sock") == "unix:///home/admin/obshell/run/obshell.sock"
        )
    }
}
