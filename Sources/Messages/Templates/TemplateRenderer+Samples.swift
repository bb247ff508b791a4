import ObshellModel
package import Tracker

extension TemplateRenderer {
    /// One realistic event of each type, in the order given: by default every type of `EventType.allCases`, which
    /// `check` renders every template against; `test-receiver` sends the sample of ``EventType/test`` (a failure's
    /// facts, marked as a test).
    /// - Parameter types: The types wanted.
    package static func sampleEvents(_ types: [EventType] = EventType.allCases) -> [Event] {
        let target = TargetIdentity(
            name: "prod-east",
            url: "http://10.0.0.5:2886",
            labels: ["env": "prod", "region": "east"]
        )
        // 2024-01-10T11:34:32.520371417+08:00
        let at = ObshellTime(seconds: 1_704_857_672, nanoseconds: 520_371_417, utcOffsetSeconds: 28_800)
        let dagName = "Cluster scale out"
        func dag(stage: Int, state: String, operator: String) -> Event.DagInfo {
            Event.DagInfo(
                id: "11",
                dagID: 1,
                name: dagName,
                stage: stage,
                maxStage: 9,
                state: state,
                operator: `operator`,
                startTime: "2024-01-10T11:02:10.118209+08:00",
                endTime: state == "SUCCEED" || state == "FAILED" ? "2024-01-10T11:34:31.9+08:00" : nil
            )
        }
        let failedNode = Event.NodeInfo(
            id: "14",
            nodeID: 4,
            name: "Wait remote deploy finish",
            state: "FAILED",
            operator: "RUN"
        )
        let runningNode = Event.NodeInfo(
            id: "15",
            nodeID: 5,
            name: "Start observer",
            state: "RUNNING",
            operator: "RUN"
        )
        let failedSubTask = Event.SubTaskInfo(
            id: "14",
            name: "Wait remote deploy finish",
            state: "FAILED",
            executeTimes: 1,
            executeAgent: SubTask.Agent(ip: "10.10.10.1", port: 2886),
            lastLog: "[2024-01-10T11:34:31.8+08:00] wait remote deploy timeout: agent 10.10.10.2:2886 did not answer"
        )
        let failedIncident = "prod-east/11/failed"
        let stalledIncident = "prod-east/11/stalled"
        return types.map { type -> Event in
            let id = "sample-\(type.rawValue)"
            switch type {
            case .started:
                return Event(
                    id: id,
                    type: type,
                    at: at,
                    target: target,
                    dag: dag(stage: 1, state: "RUNNING", operator: "RUN"),
                    node: runningNode,
                    observedMidRun: false,
                    summary: "\(dagName) started on prod-east (stage 1/9)"
                )
            case .stageAdvanced:
                return Event(
                    id: id,
                    type: type,
                    at: at,
                    target: target,
                    dag: dag(stage: 5, state: "RUNNING", operator: "RUN"),
                    node: runningNode,
                    previous: Event.Previous(stage: 4, state: "RUNNING", operator: "RUN"),
                    summary: "\(dagName) advanced from stage 4/9 to 5/9 (Start observer) on prod-east"
                )
            case .nodeFailed:
                return Event(
                    id: id,
                    type: type,
                    incident: failedIncident,
                    at: at,
                    target: target,
                    dag: dag(stage: 4, state: "RUNNING", operator: "RUN"),
                    node: failedNode,
                    subTasks: [failedSubTask],
                    summary: "\(dagName): node Wait remote deploy finish failed at stage 4/9 on prod-east"
                )
            case .failed:
                return Event(
                    id: id,
                    type: type,
                    incident: failedIncident,
                    at: at,
                    target: target,
                    dag: dag(stage: 4, state: "FAILED", operator: "RUN"),
                    node: failedNode,
                    subTasks: [failedSubTask],
                    previous: Event.Previous(stage: 4, state: "RUNNING", operator: "RUN"),
                    summary: "\(dagName) failed at stage 4/9 (Wait remote deploy finish) on prod-east"
                )
            case .stalled:
                return Event(
                    id: id,
                    type: type,
                    incident: stalledIncident,
                    at: at,
                    target: target,
                    dag: dag(stage: 5, state: "RUNNING", operator: "RUN"),
                    node: runningNode,
                    stalledSeconds: 1860,
                    threshold: "30m",
                    summary: "\(dagName) made no progress for 31m at stage 5/9 (Start observer) on prod-east"
                )
            case .slow:
                return Event(
                    id: id,
                    type: type,
                    incident: "prod-east/11/slow",
                    at: at,
                    target: target,
                    dag: dag(stage: 5, state: "RUNNING", operator: "RUN"),
                    node: runningNode,
                    threshold: "usual",
                    elapsedSeconds: 192,
                    thresholdSeconds: 120,
                    eta: Event.ETA(
                        lowSeconds: 150,
                        typicalSeconds: 200,
                        highSeconds: 320,
                        text: "ETA 3m20s (2m30s–5m20s)"
                    ),
                    summary: "Node Start observer of \(dagName) is slow at stage 5/9 on prod-east: usually 41s at p95;"
                        + " this run 3m12s, threshold 2m00s"
                )
            case .caughtUp:
                return Event(
                    id: id,
                    type: type,
                    incident: "prod-east/11/slow",
                    at: at,
                    target: target,
                    dag: dag(stage: 6, state: "RUNNING", operator: "RUN"),
                    node: runningNode,
                    summary: "Slow node Start observer of \(dagName) finished on prod-east"
                )
            case .resumed:
                return Event(
                    id: id,
                    type: type,
                    incident: stalledIncident,
                    at: at,
                    target: target,
                    dag: dag(stage: 6, state: "RUNNING", operator: "RUN"),
                    previous: Event.Previous(stage: 5, state: "RUNNING", operator: "RUN"),
                    summary: "\(dagName) progressed again at stage 6/9 on prod-east"
                )
            case .retried:
                return Event(
                    id: id,
                    type: type,
                    incident: failedIncident,
                    at: at,
                    target: target,
                    dag: dag(stage: 4, state: "RUNNING", operator: "RETRY"),
                    node: Event.NodeInfo(
                        id: "14",
                        nodeID: 4,
                        name: "Wait remote deploy finish",
                        state: "READY",
                        operator: "RETRY"
                    ),
                    previous: Event.Previous(stage: 4, state: "FAILED", operator: "RUN"),
                    summary: "\(dagName) is retried at stage 4/9 on prod-east"
                )
            case .rollbackStarted:
                return Event(
                    id: id,
                    type: type,
                    at: at,
                    target: target,
                    dag: dag(stage: 4, state: "RUNNING", operator: "ROLLBACK"),
                    previous: Event.Previous(stage: 4, state: "FAILED", operator: "RUN"),
                    summary: "\(dagName) started rolling back from stage 4/9 on prod-east"
                )
            case .succeeded, .passed, .rolledBack:
                let (state, operatorName, stage, words) =
                    switch type {
                    case .succeeded: ("SUCCEED", "RUN", 9, "succeeded")
                    case .passed: ("SUCCEED", "PASS", 9, "was passed")
                    default: ("SUCCEED", "ROLLBACK", 1, "rolled back")
                    }
                return Event(
                    id: id,
                    type: type,
                    incident: type == .succeeded ? nil : failedIncident,
                    at: at,
                    target: target,
                    dag: dag(stage: stage, state: state, operator: operatorName),
                    summary: "\(dagName) \(words) on prod-east"
                )
            case .cancelled:
                return Event(
                    id: id,
                    type: type,
                    incident: failedIncident,
                    at: at,
                    target: target,
                    dag: dag(stage: 4, state: "FAILED", operator: "CANCEL"),
                    summary: "\(dagName) was cancelled at stage 4/9 on prod-east"
                )
            case .vanished:
                return Event(
                    id: id,
                    type: type,
                    at: at,
                    target: target,
                    dag: dag(stage: 7, state: "RUNNING", operator: "RUN"),
                    summary: "\(dagName) left the task list at stage 7/9 and its end could not be confirmed in 10m"
                )
            case .targetDown:
                return Event(
                    id: id,
                    type: type,
                    incident: "prod-east/target_down",
                    at: at,
                    target: target,
                    error: "connection refused (3 polls in a row)",
                    errorKind: "connect",
                    summary: "prod-east is down: connection refused (3 polls in a row)"
                )
            case .targetUp:
                return Event(
                    id: id,
                    type: type,
                    incident: "prod-east/target_down",
                    at: at,
                    target: target,
                    summary: "prod-east answers again"
                )
            case .watcherDegraded:
                return Event(
                    id: id,
                    type: type,
                    incident: "obwatch/watcher/degraded",
                    at: at,
                    target: TargetIdentity(name: "obwatch"),
                    degradedReceivers: ["db-chat"],
                    summary: "obwatch is degraded: state cannot be saved in /var/lib/obwatch (read-only file system); "
                        + "receiver db-chat has had a notification undelivered for 12m"
                )
            case .test:
                // The facts of a failure, the DAG's name marked too: a collector that counts FAILED DAGs by name
                // or state sees a test.
                var testDAG = dag(stage: 4, state: "FAILED", operator: "RUN")
                testDAG.name = "[TEST] " + dagName
                return Event(
                    id: id,
                    type: type,
                    incident: "test/prod-east/sample",
                    at: at,
                    target: target,
                    dag: testDAG,
                    node: failedNode,
                    subTasks: [failedSubTask],
                    summary: "[TEST] A test notification from obwatch for prod-east; nothing failed"
                )
            case .watcherRecovered:
                return Event(
                    id: id,
                    type: type,
                    incident: "obwatch/watcher/degraded",
                    at: at,
                    target: TargetIdentity(name: "obwatch"),
                    summary: "obwatch works again: nothing is degraded any more"
                )
            }
        }
    }
}
