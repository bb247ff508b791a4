import Foundation
import ObshellModel
import Tracker

/// The agent's clock as read from its last answer, paired with the local clock at that moment, so that elapsed
/// times are measured on the agent's clock (where `start_time` comes from) even when the two clocks disagree.
struct AgentClockReading: Sendable, Hashable {
    /// The envelope's `timestamp` of the last answer.
    var agentTime: ObshellTime
    /// The local clock when that answer arrived.
    var localTime: Date

    /// The agent's clock at the local instant `now`, extrapolated from the reading.
    func agentNow(at now: Date) -> ObshellTime {
        let seconds = max(0, now.timeIntervalSince(self.localTime))
        return self.agentTime.adding(.milliseconds(Int64((seconds * 1000).rounded())))
    }
}

/// What the watch view knows of one target at a moment.
struct WatchTargetSnapshot: Sendable, Hashable {
    /// The target's name.
    var name: String
    /// The tracker's state after the last poll (its DAG records carry the stall clock).
    var state: TrackerState
    /// When the last poll ended, good or not; `nil` before the first one.
    var lastPoll: Date?
    /// The agent's clock from its last answer, when one came.
    var agentClock: AgentClockReading?
    /// The agent's address as shown (credentials and query redacted), for the first frame.
    var url: String?
    /// The failed sub-tasks of each failed node, by ``failureKey(dag:node:)``, from the `node_failed` events: the
    /// tracker's state keeps no log lines.
    var failedSubTasks: [String: [Event.SubTaskInfo]] = [:]

    /// Makes a snapshot of a target not polled yet.
    init(
        name: String,
        state: TrackerState = TrackerState(),
        lastPoll: Date? = nil,
        agentClock: AgentClockReading? = nil,
        url: String? = nil
    ) {
        self.name = name
        self.state = state
        self.lastPoll = lastPoll
        self.agentClock = agentClock
        self.url = url
    }

    /// The key of a node's failed sub-tasks in ``failedSubTasks``.
    static func failureKey(dag: String, node: String) -> String { "\(dag)\u{0}\(node)" }

    /// Notes the failed sub-tasks of each `node_failed` among `events`, and forgets DAGs no longer tracked.
    mutating func noteFailures(_ events: [Event]) {
        for event in events where event.type == .nodeFailed {
            guard let dag = event.dag?.id, let node = event.node?.id, let subTasks = event.subTasks else { continue }
            self.failedSubTasks[Self.failureKey(dag: dag, node: node)] = subTasks.filter { $0.state == "FAILED" }
        }
        let tracked = Set(self.state.dags.keys)
        self.failedSubTasks = self.failedSubTasks.filter { key, _ in
            tracked.contains(String(key.prefix { $0 != "\u{0}" }))
        }
    }
}

/// Renders the live view of `obwatch watch`: per target a header, per DAG a progress line, then the latest events.
///
/// A pure function of its inputs, so that tests compare lines. Agent text (DAG, node names, summaries) goes through
/// ``TerminalText/safe(_:)``; every line is cut to the width in terminal cells, and the whole to the height, the
/// events keeping at least a few rows.
struct WatchScreen {
    /// The width of a progress bar in cells.
    var barWidth = 20
    /// The time zone of the clock times shown (the local one in the command, UTC in tests).
    var timeZone = TimeZone.current
    /// A finished DAG stays on screen this long after it was last seen, then only its events remain.
    var keepFinished: Duration = .seconds(600)

    /// Rows kept for the events when the DAGs would fill the screen.
    static let minimumEventRows = 4

    /// The whole screen, one string per row, at most `height` rows of at most `width` cells.
    /// - Parameters:
    ///   - targets: Every target, in configuration order.
    ///   - events: The latest events, oldest first.
    ///   - now: The local clock.
    ///   - width: The terminal's columns.
    ///   - height: The terminal's rows.
    func lines(targets: [WatchTargetSnapshot], events: [Event], now: Date, width: Int, height: Int) -> [String] {
        let width = max(1, width)
        let height = max(1, height)
        var title = "obwatch watch  \(self.clockTime(now))  \(targets.count) target"
        if targets.count != 1 { title += "s" }
        title += "  (Ctrl-C to quit)"

        var body: [String] = []
        for target in targets {
            body.append(self.header(target, now: now))
            let dags = self.shownDags(target, now: now)
            if target.lastPoll == nil {
                body.append("  waiting for the agent's first answer")
            } else if dags.isEmpty {
                body.append("  no unfinished DAG")
            }
            for record in dags {
                body += self.dagLines(record, target: target, now: now, width: width)
            }
        }

        let eventLines = events.reversed().map { self.eventLine($0) }
        // Title, body, a blank row and the events' heading; the events get what is left, at least a few rows.
        let eventRows = max(min(Self.minimumEventRows, eventLines.count), height - 3 - body.count)
        let bodyRows = max(0, height - 3 - max(eventRows, 0))
        if body.count > bodyRows {
            let hidden = body.count - max(0, bodyRows - 1)
            body = Array(body.prefix(max(0, bodyRows - 1)))
            if bodyRows > 0 { body.append("  ... \(hidden) more rows") }
        }

        var screen = [title] + body + ["", "Latest events (newest first):"]
        if eventLines.isEmpty {
            screen.append("  none yet")
        } else {
            screen += eventLines.prefix(max(0, height - screen.count))
        }
        return screen.prefix(height).map { TerminalCells.cut($0, to: width) }
    }

    /// `sim  up  polled 2s ago`, or down with the reason.
    func header(_ target: WatchTargetSnapshot, now: Date) -> String {
        let state = target.state
        var line = TerminalText.safe(target.name) + "  "
        if state.targetDown {
            line += "DOWN"
        } else if state.consecutiveFailedPolls > 0 {
            line += "failing (\(state.consecutiveFailedPolls) polls)"
        } else if state.lastGoodPoll != nil {
            line += "up"
        } else if target.lastPoll == nil {
            line += "connecting" + (target.url.map { " to \(TerminalText.safe($0))" } ?? "")
        } else {
            line += "no answer yet"
        }
        if let lastPoll = target.lastPoll {
            line += "  polled \(DurationText.compact(Self.duration(from: lastPoll, to: now))) ago"
        }
        if state.consecutiveFailedPolls > 0, let error = state.lastError {
            line += "  error: \(TerminalText.safe(error))"
        }
        return line
    }

    /// The DAGs worth showing: every listed one, and finished ones seen recently; running first, by first sight.
    func shownDags(_ target: WatchTargetSnapshot, now: Date) -> [DagRecord] {
        let recent = target.state.dags.values.filter { record in
            record.phase == .listed
                || Self.duration(from: record.lastSeen.date, to: now) <= self.keepFinished
        }
        return recent.sorted { left, right in
            if (left.phase == .listed) != (right.phase == .listed) { return left.phase == .listed }
            if left.firstSeen != right.firstSeen { return left.firstSeen < right.firstSeen }
            return left.last.id < right.last.id
        }
    }

    /// The rows of one DAG: its progress line fitted to `width`, the node it is at on a row of its own (as `tasks`
    /// shows it), and the last log line of each failed sub-task.
    func dagLines(_ record: DagRecord, target: WatchTargetSnapshot, now: Date, width: Int) -> [String] {
        var lines = [self.dagLine(record, target: target, now: now, width: width)]
        let dag = record.last
        if let node = Self.currentNode(dag) {
            var at = "    at: \(TerminalText.safe(node.name)) (\(node.state))"
            if let usual = record.usualSeconds { at += ", usually \(DurationText.compact(.seconds(usual)))" }
            if let eta = record.eta, record.phase == .listed { at += "  \(eta.text)" }
            lines.append(at)
        }
        for node in dag.nodes ?? [] where node.state == .failed {
            let key = WatchTargetSnapshot.failureKey(dag: dag.id, node: node.id)
            for subTask in target.failedSubTasks[key] ?? [] {
                let agent = subTask.executeAgent.map { "\($0) " } ?? ""
                let log = subTask.lastLog.map(TerminalText.safe) ?? "(no log)"
                lines.append("    failed: \(TerminalText.safe(node.name)): \(agent)\(log)")
            }
        }
        return lines
    }

    /// `  [####----] 4/9  Cluster scale out  RUNNING/RUN  elapsed 1m05s  no progress 20s`.
    ///
    /// The clocks matter most: when the row is wider than `width`, the bar narrows (down to
    /// ``minimumBarWidth``), then the DAG's name is shortened with `…`, so that the stall clock stays on screen.
    func dagLine(_ record: DagRecord, target: WatchTargetSnapshot, now: Date, width: Int = .max) -> String {
        let dag = record.last
        var tail = "  \(dag.state)/\(dag.operator)"
        switch record.phase {
        case .listed: break
        case .finished: tail += " (ended)"
        case .vanished: tail += " (vanished)"
        }
        if let elapsed = self.elapsed(dag, agentNow: target.agentClock?.agentNow(at: now) ?? ObshellTime(date: now)) {
            tail += "  elapsed \(elapsed)"
        }
        if let stalled = self.stallClock(record, now: now) {
            tail += "  no progress \(DurationText.compact(stalled))"
        }
        var name = TerminalText.safe(dag.name)
        let stage = "\(dag.stage)/\(dag.maxStage)"
        // "  [" + bar + "] " + stage + "  " + name + tail
        let fixed = 5 + stage.count + 2 + TerminalCells.width(of: tail)
        var over = fixed + self.barWidth + TerminalCells.width(of: name) - width
        var barWidth = self.barWidth
        if over > 0 {
            let narrower = min(over, max(0, barWidth - Self.minimumBarWidth))
            barWidth -= narrower
            over -= narrower
        }
        if over > 0 {
            let nameWidth = TerminalCells.width(of: name)
            let kept = max(Self.minimumNameWidth, nameWidth - over - 1)
            if kept < nameWidth {
                let cut = TerminalCells.cut(name, to: kept)
                name = String(cut.reversed().drop { $0 == " " }.reversed()) + "…"
            }
        }
        return "  \(self.bar(dag, width: barWidth)) \(stage)  \(name)\(tail)"
    }

    /// The narrowest a progress bar gets to make room for the clocks.
    static let minimumBarWidth = 6
    /// The fewest cells a shortened DAG name keeps.
    static let minimumNameWidth = 8

    /// `[########------------]`: the share of stages done, full only on success.
    /// - Parameter width: The bar's cells; ``barWidth`` by default.
    func bar(_ dag: DagSummary, width: Int? = nil) -> String {
        let width = max(1, width ?? self.barWidth)
        guard dag.maxStage > 0 else { return "[" + String(repeating: "-", count: width) + "]" }
        // Stages before the current one are done; the current one counts only once it succeeded.
        let done = dag.state == .succeed ? dag.maxStage : max(0, min(dag.stage - 1, dag.maxStage))
        let filled = done * width / dag.maxStage
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }

    /// How long the DAG has run: from its start to its end once it ended, else to the agent's clock now.
    func elapsed(_ dag: DagSummary, agentNow: ObshellTime) -> String? {
        guard let start = dag.startTime, !start.isEpoch else { return nil }
        var end = agentNow
        if dag.state.isFinal, let finished = dag.endTime, !finished.isEpoch { end = finished }
        return DurationText.compact(start.duration(to: end))
    }

    /// The time without progress: what the tracker counted, plus the time since its last good observation while
    /// the DAG still runs (a failed poll stops the count, as in the tracker). `nil` for a DAG that ended.
    func stallClock(_ record: DagRecord, now: Date) -> Duration? {
        guard record.phase == .listed, !record.last.state.isFinal else { return nil }
        var counted = Duration.nanoseconds(max(0, record.stalledNanoseconds))
        if let mark = record.stallMark { counted += Self.duration(from: mark.date, to: now) }
        return counted
    }

    /// `12:00:05  stage_advanced  Cluster scale out advanced to stage 5/9 on sim`.
    func eventLine(_ event: Event) -> String {
        "  \(self.clockTime(event.at.date))  \(event.type.rawValue)  \(TerminalText.safe(event.summary))"
    }

    /// An event as a plain line for a pipe: `12:00:05 stage_advanced Cluster scale out advanced ...`.
    func plainEventLine(_ event: Event) -> String {
        "\(self.clockTime(event.at.date)) \(event.type.rawValue) \(TerminalText.safe(event.summary))"
    }

    /// One line per poll for a pipe: the target's header and its unfinished DAGs, e.g.
    /// `12:00:05 status sim  up  polled 0s ago: Cluster scale out 5/9 RUNNING/RUN at Wait remote start finish`.
    func statusLine(_ target: WatchTargetSnapshot, now: Date) -> String {
        let dags = self.shownDags(target, now: now).filter { $0.phase == .listed }
        var line = "\(self.clockTime(now)) status \(self.header(target, now: now)): "
        if dags.isEmpty {
            line += "no unfinished DAG"
        } else {
            line += dags.map { record in
                let dag = record.last
                var part = "\(TerminalText.safe(dag.name)) \(dag.stage)/\(dag.maxStage) \(dag.state)/\(dag.operator)"
                if let node = Self.currentNode(dag) { part += " at \(TerminalText.safe(node.name))" }
                return part
            }.joined(separator: "; ")
        }
        return line
    }

    /// The node at the DAG's stage, when the agent sent details.
    static func currentNode(_ dag: DagSummary) -> NodeSummary? {
        guard let nodes = dag.nodes, dag.stage >= 1, dag.stage <= nodes.count else { return nil }
        return nodes[dag.stage - 1]
    }

    /// `HH:mm:ss` in the screen's time zone.
    func clockTime(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = self.timeZone
        let parts = calendar.dateComponents([.hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String {
            let value = value ?? 0
            return value < 10 ? "0\(value)" : "\(value)"
        }
        return "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))"
    }

    /// The non-negative time between two local instants.
    static func duration(from start: Date, to end: Date) -> Duration {
        let seconds = max(0, end.timeIntervalSince(start))
        guard seconds.isFinite, seconds < 1e12 else { return .zero }
        return .milliseconds(Int64((seconds * 1000).rounded(.down)))
    }
}

/// Terminal cells: East Asian wide characters and emoji take two columns, combining marks none.
enum TerminalCells {
    /// The number of columns `text` takes.
    static func width(of text: String) -> Int {
        text.reduce(0) { $0 + Self.width(of: $1) }
    }

    /// `text` cut so that it takes at most `width` columns; a wide character that would straddle the edge is dropped.
    static func cut(_ text: String, to width: Int) -> String {
        var used = 0
        var result = ""
        for character in text {
            let cells = Self.width(of: character)
            if used + cells > width { break }
            used += cells
            result.append(character)
        }
        return result
    }

    /// The columns of one character: those of its first scalar (the rest combine with it).
    static func width(of character: Character) -> Int {
        guard let scalar = character.unicodeScalars.first else { return 0 }
        let value = scalar.value
        if character.unicodeScalars.count > 1, character.unicodeScalars.contains(where: { $0.value == 0xFE0F }) {
            return 2
        }
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        default:
            return scalar.properties.generalCategory == .nonspacingMark ? 0 : 1
        }
    }
}
