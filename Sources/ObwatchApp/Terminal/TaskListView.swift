import History
import ObshellModel

/// Renders unfinished DAGs as `obwatch tasks` prints them: one line per DAG with a progress bar, and for a failure
/// the failed sub-tasks' last log lines.
///
/// Agent text goes through ``TerminalText/safe(_:)`` so that a DAG name or a log line cannot move the cursor or
/// forge extra lines.
struct TaskListView {
    /// The width of the progress bar in cells.
    var barWidth = 20
    /// What is known of usual durations, and the target name it knows the agent by: with it, a running DAG shows its
    /// ETA band (or "ETA unknown") and its current stage's usual time.
    var history: (history: DurationHistory, target: String)?

    /// The whole listing, one string per line.
    /// - Parameters:
    ///   - dags: The DAGs, as the agent listed them.
    ///   - agentTime: The agent's clock at the answer, used for elapsed times so clock skew cannot distort them.
    func lines(for dags: [Dag], agentTime: ObshellTime?) -> [String] {
        guard !dags.isEmpty else { return ["No unfinished task."] }
        var lines: [String] = []
        for dag in dags {
            var line = "\(self.bar(dag)) \(dag.stage)/\(dag.maxStage)  \(TerminalText.safe(dag.name))"
            line += "  \(dag.state)/\(dag.operator)"
            if let elapsed = Self.elapsed(dag, agentTime: agentTime) { line += "  \(elapsed)" }
            let estimate = self.history.flatMap { known in
                dag.state.isActive
                    ? DagEstimate(dag: dag, target: known.target, agentTime: agentTime, history: known.history) : nil
            }
            if let estimate { line += "  \(estimate.text)" }
            line += "  id \(TerminalText.safe(dag.id))"
            lines.append(line)
            if let node = dag.currentNode {
                var at = "    at: \(TerminalText.safe(node.name)) (\(node.state))"
                if let usual = estimate?.nodes.first(where: { $0.stage == dag.stage }) { at += ", \(usual.usualText)" }
                lines.append(at)
            }
            for node in dag.nodes ?? [] where node.state == .failed {
                for subTask in node.subTasks where subTask.state == .failed {
                    let agent = subTask.executeAgent.map { "\($0) " } ?? ""
                    let log = subTask.lastLog.map(TerminalText.safe) ?? "(no log)"
                    lines.append("    failed: \(TerminalText.safe(node.name)): \(agent)\(log)")
                }
            }
        }
        return lines
    }

    /// `[########------------]`: the share of stages done, full only on success.
    func bar(_ dag: Dag) -> String {
        guard dag.maxStage > 0 else { return "[" + String(repeating: "-", count: self.barWidth) + "]" }
        // Stages before the current one are done; the current one counts only once it succeeded.
        let done = dag.state == .succeed ? dag.maxStage : max(0, min(dag.stage - 1, dag.maxStage))
        let filled = done * self.barWidth / dag.maxStage
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: self.barWidth - filled) + "]"
    }

    /// How long the DAG has run, from its start time to the agent's clock (or its end time once it ended).
    static func elapsed(_ dag: Dag, agentTime: ObshellTime?) -> String? {
        guard let start = dag.startTime, !start.isEpoch else { return nil }
        let end = dag.state.isFinal ? (dag.endTime.flatMap { $0.isEpoch ? nil : $0 } ?? agentTime) : agentTime
        guard let end else { return nil }
        return DurationText.compact(start.duration(to: end))
    }
}

/// Short human durations: `45s`, `12m03s`, `2h05m`, `3d04h`.
enum DurationText {
    static func compact(_ duration: Duration) -> String {
        let total = max(0, duration.components.seconds)
        let (days, hours, minutes, seconds) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if days > 0 { return "\(days)d\(two(hours))h" }
        if hours > 0 { return "\(hours)h\(two(minutes))m" }
        if minutes > 0 { return "\(minutes)m\(two(seconds))s" }
        return "\(seconds)s"
    }
}

/// Makes agent text safe to print on a terminal.
enum TerminalText {
    /// Replaces control characters (CR, LF, ESC, ...) and line separators with visible escapes such as `\r`.
    static func safe(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\r": result += "\\r"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\u{2028}", "\u{2029}", "\u{85}":
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
