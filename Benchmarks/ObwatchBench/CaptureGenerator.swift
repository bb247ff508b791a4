import Foundation
import ObshellModel
import Tracker

/// A synthetic recording of one cluster agent, built line by line with ``CaptureWriter`` so that every line is what
/// `obwatch run --record` would have written.
struct GeneratedCapture {
    var data: Data
    var lines: Int
    var polls: Int
    var failedPolls: Int
    var confirmations: Int
    var dags: Int
}

/// Makes a month (or any span) of polls of one target: mostly `contents: null`, with a trickle of DAGs.
///
/// Everything is derived from the DAG's index and the poll's second, so two runs with the same options produce the
/// same bytes and timings compare across builds.
struct CaptureGenerator {
    private enum Kind {
        /// Nine stages of 90 s, each stage's sub-task logging every 30 s.
        case scaleOut
        /// A scale-out whose stage 5 fails, sits FAILED for 5 minutes, is retried and then finishes.
        case failingScaleOut
        /// Four stages of 10 minutes: long enough that a stage spans many polls with no change.
        case backup
    }

    private struct Run {
        var number: Int
        var kind: Kind
        var start: Int
        var end: Int
        var id: String { String(1_000 + self.number) }
    }

    /// What one poll shows of a run.
    private struct Snapshot {
        var stage: Int
        var state: String
        var stageNodeOperator: String
        var executeTimes: Int
        var logCount: Int
        var failure: String?
    }

    private static let stageSeconds = 90
    private static let backupStageSeconds = 600
    private static let failingStage = 5
    private static let failedSeconds = 300
    private static let readySeconds = 10
    private static let scaleOutNodes = [
        "Integrate server config", "Create local scale out dag", "Wait scale out ready", "Wait remote deploy finish",
        "Wait remote start finish", "Bootstrap new server", "Wait new server active", "Add server to zone",
        "Finish scale out",
    ]
    private static let backupNodes = [
        "Check backup destination", "Backup tenant data", "Backup archive log", "Finish tenant backup",
    ]
    private static let pollRequest = "GET /api/v1/task/dag/unfinish?show_details=true"

    let days: Int
    let interval: Int
    let dagsPerDay: Int
    let target = "prod-east"
    /// 2026-11-01T00:00:00+08:00: agents answer in the cluster's zone.
    private let origin: Int64 = 1_793_462_400 - 8 * 3_600
    private let offset: Int32 = 8 * 3_600
    private let writer = CaptureWriter()

    /// Builds the capture.
    func generate() -> GeneratedCapture {
        let runs = self.schedule()
        let pollCount = self.days * 86_400 / self.interval
        var output = Data()
        output.reserveCapacity(pollCount * 280)
        var capture = GeneratedCapture(data: Data(), lines: 0, polls: 0, failedPolls: 0, confirmations: 0, dags: 0)
        capture.dags = runs.count
        var nextRun = 0
        var active: [Run] = []
        var listed: [Run] = []
        for poll in 0..<pollCount {
            let second = poll * self.interval
            while nextRun < runs.count, runs[nextRun].start <= second {
                active.append(runs[nextRun])
                nextRun += 1
            }
            active.removeAll { $0.end <= second }
            capture.polls += 1
            if let failure = self.failedPoll(at: second) {
                capture.failedPolls += 1
                self.append(failure, to: &output, count: &capture.lines)
                continue
            }
            let body = self.listBody(active.map { self.dag($0, self.snapshot($0, at: second)) }, at: second)
            self.append(
                self.writer.line(
                    at: self.time(second, nanos: 417_000_000),
                    target: self.target,
                    request: Self.pollRequest,
                    status: 200,
                    body: body
                ),
                to: &output,
                count: &capture.lines
            )
            // A DAG leaving the list is confirmed right away; the recording holds that answer.
            for run in listed where !active.contains(where: { $0.number == run.number }) {
                capture.confirmations += 1
                self.append(self.confirmation(run, at: second + 1), to: &output, count: &capture.lines)
            }
            listed = active
        }
        capture.data = output
        return capture
    }

    private func append(_ line: String, to output: inout Data, count: inout Int) {
        output.append(contentsOf: line.utf8)
        output.append(UInt8(ascii: "\n"))
        count += 1
    }

    private func schedule() -> [Run] {
        guard self.dagsPerDay > 0 else { return [] }
        let slot = 86_400 / self.dagsPerDay
        var runs: [Run] = []
        for day in 0..<self.days {
            for index in 0..<self.dagsPerDay {
                let number = day * self.dagsPerDay + index
                let kind: Kind =
                    if number % 3 == 2 {
                        .backup
                    } else if number % 7 == 3 {
                        .failingScaleOut
                    } else {
                        .scaleOut
                    }
                let start = day * 86_400 + index * slot + min(slot / 4, 3_600) + (number * 37) % 300
                runs.append(Run(number: number, kind: kind, start: start, end: start + Self.duration(kind)))
            }
        }
        return runs.sorted { $0.start < $1.start }
    }

    private static func duration(_ kind: Kind) -> Int {
        switch kind {
        case .scaleOut: self.scaleOutNodes.count * self.stageSeconds
        case .backup: self.backupNodes.count * self.backupStageSeconds
        case .failingScaleOut:
            self.scaleOutNodes.count * self.stageSeconds + self.stageSeconds / 2 + self.failedSeconds
                + self.readySeconds
        }
    }

    private func snapshot(_ run: Run, at second: Int) -> Snapshot {
        let elapsed = second - run.start
        switch run.kind {
        case .scaleOut:
            return Self.running(elapsed, stageSeconds: Self.stageSeconds, executeTimes: { _ in 1 })
        case .backup:
            return Self.running(elapsed, stageSeconds: Self.backupStageSeconds, executeTimes: { _ in 1 })
        case .failingScaleOut:
            let failAt = (Self.failingStage - 1) * Self.stageSeconds + Self.stageSeconds / 2
            if elapsed < failAt {
                return Self.running(elapsed, stageSeconds: Self.stageSeconds, executeTimes: { _ in 1 })
            }
            if elapsed < failAt + Self.failedSeconds {
                return Snapshot(
                    stage: Self.failingStage,
                    state: "FAILED",
                    stageNodeOperator: "RUN",
                    executeTimes: 1,
                    logCount: 2,
                    failure:
                        "ERROR: [Task.Failed]: remote start failed on 10.10.10.2:2886: timeout waiting for observer"
                )
            }
            if elapsed < failAt + Self.failedSeconds + Self.readySeconds {
                return Snapshot(
                    stage: Self.failingStage,
                    state: "READY",
                    stageNodeOperator: "RETRY",
                    executeTimes: 1,
                    logCount: 2,
                    failure: nil
                )
            }
            // The retried stage starts over; the stages before it keep their time.
            let resumed =
                elapsed - failAt - Self.failedSeconds - Self.readySeconds + (Self.failingStage - 1) * Self.stageSeconds
            return Self.running(resumed, stageSeconds: Self.stageSeconds) { $0 == Self.failingStage ? 2 : 1 }
        }
    }

    private static func running(_ elapsed: Int, stageSeconds: Int, executeTimes: (Int) -> Int) -> Snapshot {
        let stage = elapsed / stageSeconds + 1
        return Snapshot(
            stage: stage,
            state: "RUNNING",
            stageNodeOperator: "RUN",
            executeTimes: executeTimes(stage),
            logCount: (elapsed % stageSeconds) / 30 + 1,
            failure: nil
        )
    }

    private func nodeNames(_ kind: Kind) -> [String] {
        switch kind {
        case .scaleOut, .failingScaleOut: Self.scaleOutNodes
        case .backup: Self.backupNodes
        }
    }

    /// A DAG as the agent encodes it (`GET /api/v1/task/dag/unfinish?show_details=true` shape).
    private func dag(_ run: Run, _ snapshot: Snapshot) -> [String: Any] {
        let names = self.nodeNames(run.kind)
        let started = self.time(run.start, nanos: 556_477_000).text
        var nodes: [[String: Any]] = []
        for (index, name) in names.enumerated() {
            let stage = index + 1
            let state: String
            if stage < snapshot.stage {
                state = "SUCCEED"
            } else if stage > snapshot.stage {
                state = "PENDING"
            } else {
                state = snapshot.state == "READY" ? "RUNNING" : snapshot.state
            }
            var logs: [String] = []
            if stage < snapshot.stage {
                logs = ["\(name.lowercased()) succeeded"]
            } else if stage == snapshot.stage {
                logs = (0..<snapshot.logCount).map { "\(name.lowercased()): step \($0 + 1) done" }
                if let failure = snapshot.failure { logs.append(failure) }
            }
            let nodeID = "\(run.number * 100 + stage)"
            let subTask: [String: Any] = [
                "id": nodeID, "task_id": run.number * 100 + stage, "name": name, "state": state,
                "operator": stage == snapshot.stage ? snapshot.stageNodeOperator : "RUN",
                "start_time": started, "end_time": started, "additional_data": NSNull(),
                "execute_times": stage == snapshot.stage ? snapshot.executeTimes : 1,
                "execute_agent": ["ip": "10.10.10.\(stage % 3 + 1)", "port": 2_886] as [String: Any],
                "task_logs": logs,
            ]
            nodes.append([
                "id": nodeID, "node_id": run.number * 100 + stage, "name": name, "state": state,
                "operator": stage == snapshot.stage ? snapshot.stageNodeOperator : "RUN",
                "start_time": started, "end_time": started, "additional_data": NSNull(), "sub_tasks": [subTask],
            ])
        }
        return [
            "id": run.id, "dag_id": run.number, "name": run.kind == .backup ? "Backup tenant" : "Cluster scale out",
            "stage": snapshot.stage, "max_stage": names.count, "state": snapshot.state, "operator": "RUN",
            "start_time": started, "end_time": started, "additional_data": [String: Any](), "nodes": nodes,
        ]
    }

    private func listBody(_ dags: [[String: Any]], at second: Int) -> Data {
        let stamp = self.time(second, nanos: 412_000_000).text
        guard !dags.isEmpty else {
            // What an agent with nothing unfinished sends, byte for byte in its key order.
            let text =
                "{\"successful\":true,\"timestamp\":\"\(stamp)\",\"duration\":2,\"status\":200,"
                + "\"traceId\":\"\(Self.traceID(second))\",\"data\":{\"contents\":null}}"
            return Data(text.utf8)
        }
        return self.envelope(["contents": dags], at: second)
    }

    private func envelope(_ data: [String: Any], at second: Int) -> Data {
        let object: [String: Any] = [
            "successful": true, "timestamp": self.time(second, nanos: 412_000_000).text, "duration": 43,
            "status": 200, "traceId": Self.traceID(second), "data": data,
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data()
    }

    private func confirmation(_ run: Run, at second: Int) -> String {
        let finished = Snapshot(
            stage: self.nodeNames(run.kind).count,
            state: "SUCCEED",
            stageNodeOperator: "RUN",
            executeTimes: 1,
            logCount: 1,
            failure: nil
        )
        var dag = self.dag(run, finished)
        dag["nodes"] = (dag["nodes"] as? [[String: Any]] ?? []).map { node -> [String: Any] in
            var node = node
            node["state"] = "SUCCEED"
            node["sub_tasks"] = (node["sub_tasks"] as? [[String: Any]] ?? []).map { subTask -> [String: Any] in
                var subTask = subTask
                subTask["state"] = "SUCCEED"
                return subTask
            }
            return node
        }
        return self.writer.line(
            at: self.time(second, nanos: 88_000_000),
            target: self.target,
            request: "GET /api/v1/task/dag/\(run.id)?show_details=true",
            status: 200,
            body: self.envelope(dag, at: second)
        )
    }

    /// Once a day the agent is unreachable for three polls, the last one a 500 from its proxy.
    private func failedPoll(at second: Int) -> String? {
        let ofDay = second % 86_400
        let outage = 13 * 3_600 + 17 * 60
        guard ofDay >= outage, ofDay < outage + 3 * self.interval else { return nil }
        let at = self.time(second, nanos: 0).adding(.seconds(2))
        if ofDay < outage + 2 * self.interval {
            return self.writer.line(
                at: at,
                target: self.target,
                request: Self.pollRequest,
                error: "curl error 7: Failed to connect to 10.10.10.1 port 2886: Connection refused"
            )
        }
        let body =
            "{\"successful\":false,\"timestamp\":\"\(at.text)\",\"duration\":0,\"status\":500,\"traceId\":\"\","
            + "\"error\":{\"errCode\":\"Common.Unexpected\",\"message\":\"Unexpected error: Internal Server Error\"}}"
        return self.writer.line(
            at: at,
            target: self.target,
            request: Self.pollRequest,
            status: 500,
            body: Data(body.utf8)
        )
    }

    private func time(_ second: Int, nanos: Int32) -> ObshellTime {
        ObshellTime(seconds: self.origin + Int64(second), nanoseconds: nanos, utcOffsetSeconds: self.offset)
    }

    private static func traceID(_ second: Int) -> String {
        let hex = String(UInt64(truncatingIfNeeded: second &* 2_654_435_761), radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }
}
