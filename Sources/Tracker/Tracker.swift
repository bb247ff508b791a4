package import History
package import ObshellModel

/// What one observation did: the new state, the events in order, and the DAGs to confirm.
package struct TrackerStep: Sendable, Hashable {
    /// The state after the observation.
    package var state: TrackerState
    /// The events the observation produced, in the order they happened.
    package var events: [Event]
    /// DAG ids missing from a good list whose final state must be asked for with `GET /api/v1/task/dag/{id}`,
    /// sorted; empty for everything but good lists.
    package var confirmations: [String]

    /// Makes a step.
    package init(state: TrackerState, events: [Event], confirmations: [String]) {
        self.state = state
        self.events = events
        self.confirmations = confirmations
    }
}

/// The pure state machine of one target: observations in, events out (CONTRACT section 4). No I/O, no clock.
///
/// Choices the contract leaves open, made here:
/// - Incidents. `node_failed` and `failed` belong to `TARGET/DAGID/failed`; `stalled` of every threshold shares
///   `TARGET/DAGID/stalled`, which one `resumed` resolves; `target_down` and `target_up` use `TARGET/target_down`.
///   `retried`, `succeeded`, `passed`, `rolled_back` and `cancelled` carry (and resolve) the failed incident only when
///   one is open; otherwise they carry no incident. `started`, `stage_advanced`, `rollback_started` and `vanished`
///   carry none: `vanished` leaves open incidents open, since nobody knows how the DAG ended.
/// - Failure episodes. An episode starts with its first `node_failed` or `failed` and ends only with an event:
///   `retried` (which resolves), `rollback_started` (which does not: a rollback that fails fires a new `failed` in a
///   new episode, in the same incident), or a final `cancelled`/`succeeded`/`passed`/`rolled_back`. A FAILED DAG seen
///   READY/CANCEL (no such event) stays in its episode until its `cancelled`.
///   `failed` fires once per episode, `node_failed` once per node and episode; a node still FAILED exactly as before
///   when its episode ends does not fire again until it changes.
/// - Failures not seen. A DAG last seen not FAILED that shows it was retried meanwhile (a node's operator became
///   RETRY, or a sub-task ran again under RUN; see `Progress.missedFailures`) failed while obwatch was not
///   watching: `node_failed` and `failed` fire with `observed_late: true` and the observation's time, in a failure
///   episode of their own, then `retried` resolves it.
/// - A final event fires once per final `state/operator` until the DAG runs again; a listed SUCCEED counts like a
///   confirmed one. A DAG that comes back READY or RUNNING after a final fires `retried` (or `rollback_started`
///   under ROLLBACK), never a second `started`. A DAG that comes back after `vanished` was most likely listed all
///   along by an agent that was away: it is observed again as usual (its changes fire their events).
/// - A confirmation that shows READY or RUNNING means the DAG never left: no events and no change to what was last
///   seen, so the next list still reports its changes. A confirmation for a DAG never listed is ignored.
/// - Stall time is counted between good observations of the DAG; the gap that contains a failed poll is not counted.
///   Time while obwatch itself was stopped is counted (the clock keeps running across a restart). `stalled_seconds`
///   is the whole seconds counted. Progress uses nodes and sub-tasks only when both observations have details.
/// - Within a list, DAGs are handled in list order (a repeated id is ignored), then missing DAGs in id order.
/// - A DAG that ended SUCCEED is forgotten ``TrackerSettings/forgetSucceededAfter`` after it was last seen (obshell
///   cannot bring it back); every other DAG is remembered for good, so it never fires a second `started`.
package enum Tracker {
    /// Applies one observation.
    /// - Parameters:
    ///   - state: The state before.
    ///   - observation: What was seen, with its time.
    ///   - settings: `down_after`, `confirm_within` and the stall thresholds.
    ///   - target: The target, copied into every event.
    ///   - history: What is known of usual durations (for `slow`); empty by default, so no `slow` fires.
    ///   - agentTime: obshell's clock at the answer (the envelope's `timestamp`), which node elapsed times are
    ///     measured against; `nil` falls back to the observation's time.
    /// - Returns: The new state, the events in order, and the DAG ids to confirm.
    package static func step(
        _ state: TrackerState,
        _ observation: Observation,
        settings: TrackerSettings,
        target: TargetIdentity,
        history: DurationHistory = DurationHistory(),
        agentTime: ObshellTime? = nil
    ) -> TrackerStep {
        var state = state
        let effects = self.apply(
            observation,
            to: &state,
            settings: settings,
            target: target,
            history: history,
            agentTime: agentTime
        )
        return TrackerStep(state: state, events: effects.events, confirmations: effects.confirmations)
    }

    /// Applies one observation to `state` in place: ``step(_:_:settings:target:history:agentTime:)`` without copying
    /// the state (a caller that owns it uniquely, such as the replayer, changes it where it lies).
    /// - Returns: The events in order and the DAG ids to confirm.
    package static func apply(
        _ observation: Observation,
        to state: inout TrackerState,
        settings: TrackerSettings,
        target: TargetIdentity,
        history: DurationHistory = DurationHistory(),
        agentTime: ObshellTime? = nil
    ) -> TrackerEffects {
        Self.run(
            on: &state,
            settings: settings,
            target: target,
            history: history,
            agentTime: agentTime ?? observation.at
        ) { machine in
            switch observation {
            case .failedPoll(let reason, let kind, let at):
                machine.failedPoll(reason: reason, kind: kind, at: at)
            case .list(let dags, let at):
                machine.goodPoll(dags, at: at)
            case .confirmation(let id, let result, let at):
                machine.confirmation(id: id, result: result, at: at)
            }
        }
    }

    /// Applies a good list that is the same, DAG for DAG, as the list of the last observation applied to `state`
    /// (the answer's `data` bytes were identical): only the clocks move, exactly as
    /// ``apply(_:to:settings:target:history:agentTime:)`` with `.list(dags, at: at)` would move them. Stall time is
    /// counted and `stalled` fires at its thresholds, `slow` at its thresholds, ETAs follow the agent's clock,
    /// missing DAGs are confirmed or vanish, old successes are forgotten; what is skipped is comparing each DAG with
    /// what was last seen, which an unchanged list cannot change.
    ///
    /// The caller promises that the last observation applied was `.list(dags, ...)` with these same DAGs. When the
    /// state shows otherwise (a failed poll since, a DAG not on record or missing since), this is the full step.
    /// - Returns: The events in order and the DAG ids to confirm.
    package static func applyUnchangedList(
        _ dags: [Dag],
        at: ObshellTime,
        to state: inout TrackerState,
        settings: TrackerSettings,
        target: TargetIdentity,
        history: DurationHistory = DurationHistory(),
        agentTime: ObshellTime? = nil
    ) -> TrackerEffects {
        Self.run(on: &state, settings: settings, target: target, history: history, agentTime: agentTime ?? at) {
            $0.unchangedPoll(dags, at: at)
        }
    }

    /// Runs `body` on a machine that holds `state` (moved in and back, not copied: the state's dictionary stays
    /// uniquely referenced, so changing it copies nothing) and returns what it produced.
    private static func run(
        on state: inout TrackerState,
        settings: TrackerSettings,
        target: TargetIdentity,
        history: DurationHistory,
        agentTime: ObshellTime,
        _ body: (inout Machine) -> Void
    ) -> TrackerEffects {
        var machine = Machine(state: TrackerState(), settings: settings, target: target)
        swap(&machine.state, &state)
        defer { swap(&machine.state, &state) }
        machine.history = history
        machine.agentTime = agentTime
        body(&machine)
        return TrackerEffects(events: machine.events, confirmations: machine.confirmations)
    }
}

/// What applying one observation produced, besides the new state.
package struct TrackerEffects: Sendable, Hashable {
    /// The events, in the order they happened.
    package var events: [Event]
    /// DAG ids missing from a good list whose final state must be asked for, sorted.
    package var confirmations: [String]

    /// Makes the effects of a step.
    package init(events: [Event], confirmations: [String]) {
        self.events = events
        self.confirmations = confirmations
    }
}

/// One application of the state machine: the state being changed and what it produced.
private struct Machine {
    var state: TrackerState
    let settings: TrackerSettings
    let target: TargetIdentity
    var events: [Event] = []
    var confirmations: [String] = []
    var history = DurationHistory()
    var agentTime: ObshellTime?
    /// The ETA of the DAG being observed, when history knows every node ahead (set per DAG by ``observe``).
    var currentETA: Event.ETA?

    init(state: TrackerState, settings: TrackerSettings, target: TargetIdentity) {
        self.state = state
        self.settings = settings
        self.target = target
    }

    enum Source { case list, confirmation }

    // MARK: - Polls

    mutating func failedPoll(reason: String, kind: PollFailureKind, at: ObshellTime) {
        self.state.consecutiveFailedPolls += 1
        self.state.lastError = reason
        // The agent keeps running the DAGs while we cannot see them: that gap must not count as no progress.
        for id in self.state.dags.keys {
            self.state.dags[id]?.stallMark = nil
        }
        guard self.state.consecutiveFailedPolls >= self.settings.downAfter, !self.state.targetDown else { return }
        self.state.targetDown = true
        self.state.downEpisodes += 1
        let name = self.target.name
        // A refused password never fixes itself: say what to change instead of how many polls failed.
        let summary =
            kind == .auth
            ? "\(name) is down: password refused by the agent: fix password/password_file of \(name) (\(reason))"
            : "\(name) is down: \(self.state.consecutiveFailedPolls) polls in a row failed (\(reason))"
        self.events.append(
            Event(
                id: EventID.make([name, "", EventType.targetDown.rawValue, String(self.state.downEpisodes)]),
                type: .targetDown,
                incident: "\(name)/target_down",
                at: at,
                target: self.target,
                error: reason,
                errorKind: kind.rawValue,
                summary: summary
            )
        )
    }

    mutating func goodPoll(_ dags: [Dag], at: ObshellTime) {
        if self.state.targetDown {
            let name = self.target.name
            self.events.append(
                Event(
                    id: EventID.make([name, "", EventType.targetUp.rawValue, String(self.state.downEpisodes)]),
                    type: .targetUp,
                    incident: "\(name)/target_down",
                    at: at,
                    target: self.target,
                    summary: "\(name) answers again"
                )
            )
            self.state.targetDown = false
        }
        self.state.consecutiveFailedPolls = 0
        self.state.lastError = nil
        self.state.lastGoodPoll = at
        var listed = Set<String>()
        for dag in dags where listed.insert(dag.id).inserted {
            if var record = self.state.dags[dag.id] {
                self.observe(&record, dag, at: at, source: .list)
                self.state.dags[dag.id] = record
            } else {
                self.firstSight(dag, at: at)
            }
        }
        self.notListed(listed, at: at)
    }

    /// A good list that repeats the last one applied: see ``Tracker/applyUnchangedList``.
    mutating func unchangedPoll(_ dags: [Dag], at: ObshellTime) {
        // What the last good list left behind; anything else and the full step decides.
        guard !self.state.targetDown, self.state.consecutiveFailedPolls == 0, self.state.lastError == nil else {
            return self.goodPoll(dags, at: at)
        }
        var listed = Set<String>()
        for dag in dags where listed.insert(dag.id).inserted {
            guard let record = self.state.dags[dag.id], record.missingSince == nil,
                record.phase == .listed || (record.phase == .finished && record.last.state == .succeed)
            else { return self.goodPoll(dags, at: at) }
        }
        self.state.lastGoodPoll = at
        listed.removeAll(keepingCapacity: true)
        for dag in dags where listed.insert(dag.id).inserted {
            guard var record = self.state.dags[dag.id] else { continue }
            self.observeUnchanged(&record, dag, at: at)
            self.state.dags[dag.id] = record
        }
        self.notListed(listed, at: at)
    }

    /// DAGs a good list did not show: the ones still listed are confirmed, or vanish after `confirm_within`; old
    /// successes are forgotten. One pass finds both (they are disjoint: listed and finished), then missing DAGs go
    /// in id order.
    mutating func notListed(_ listed: Set<String>, at: ObshellTime) {
        var missing: [String] = []
        var forgotten: [String] = []
        var index = self.state.dags.startIndex
        while index != self.state.dags.endIndex {
            defer { index = self.state.dags.index(after: index) }
            // Fields read in place: copying each record out of the dictionary retains every reference it holds.
            let phase = self.state.dags.values[index].phase
            guard phase == .listed || phase == .finished else { continue }
            let id = self.state.dags.keys[index]
            if listed.contains(id) { continue }
            if phase == .listed {
                missing.append(id)
            } else if self.state.dags.values[index].last.state == .succeed,
                self.state.dags.values[index].lastSeen.duration(to: at) > self.settings.forgetSucceededAfter
            {
                forgotten.append(id)
            }
        }
        missing.sort()
        for id in missing {
            guard var record = self.state.dags[id] else { continue }
            let since = record.missingSince ?? at
            record.missingSince = since
            if since.duration(to: at) >= self.settings.confirmWithin {
                self.vanish(&record, at: at)
            } else {
                self.confirmations.append(id)
            }
            self.state.dags[id] = record
        }
        for id in forgotten { self.state.dags[id] = nil }
    }

    mutating func confirmation(id: String, result: ConfirmationResult, at: ObshellTime) {
        guard var record = self.state.dags[id] else { return }
        switch result {
        case .found(let dag) where !dag.state.isFinal:
            // READY or RUNNING (or a state obshell may add): it never left.
            record.missingSince = nil
        case .found(let dag):
            self.observe(&record, dag, at: at, source: .confirmation)
            record.finalConfirmed = true
        case .notFound, .failed:
            if record.phase == .listed, let since = record.missingSince,
                since.duration(to: at) >= self.settings.confirmWithin
            {
                self.vanish(&record, at: at)
            }
        }
        self.state.dags[id] = record
    }

    // MARK: - One DAG

    /// The ETA of a running DAG as an event field; `nil` without history for every node ahead.
    func eta(of dag: Dag) -> Event.ETA? {
        guard !self.history.isEmpty, dag.state.isActive,
            let band = DagEstimate(dag: dag, target: self.target.name, agentTime: self.agentTime, history: self.history)
                .remaining
        else { return nil }
        return Event.ETA(
            lowSeconds: Int64(band.low.rounded()),
            typicalSeconds: Int64(band.typical.rounded()),
            highSeconds: Int64(band.high.rounded()),
            text: band.text
        )
    }

    /// The p50 of the current node, when history knows it.
    func usualSeconds(of dag: Dag) -> Int64? {
        guard !self.history.isEmpty, let node = dag.currentNode else { return nil }
        let dagTemplate = NameTemplates.dagTemplate(dag.name)
        let key = DurationKey(
            target: self.target.name,
            dagTemplate: dagTemplate,
            nodeTemplate: NameTemplates.nodeTemplate(node.name, dagTemplate: dagTemplate),
            width: node.subTasks.count
        )
        return self.history.pool(for: key).map { Int64($0.statistics.p50.rounded()) }
    }

    mutating func firstSight(_ dag: Dag, at: ObshellTime) {
        self.currentETA = self.eta(of: dag)
        defer { self.currentETA = nil }
        let summary = DagSummary(dag)
        var record = DagRecord(first: summary, at: at)
        record.eta = self.currentETA
        record.usualSeconds = self.usualSeconds(of: dag)
        let midRun = dag.stage > 1
        let verb = midRun ? "is running" : "started"
        self.emit(
            .started,
            record: &record,
            key: "1",
            at: at,
            dag: summary,
            node: summary.currentNode,
            observedMidRun: midRun,
            summary: self.describe(summary, verb)
        )
        self.failuresAndFinal(&record, previous: nil, dag: dag, summary: summary, at: at, source: .list)
        record.last = summary
        self.state.dags[dag.id] = record
    }

    mutating func observe(_ record: inout DagRecord, _ dag: Dag, at: ObshellTime, source: Source) {
        self.currentETA = self.eta(of: dag)
        defer { self.currentETA = nil }
        record.eta = self.currentETA
        record.usualSeconds = self.usualSeconds(of: dag)
        let previous = record.last
        let current = DagSummary(dag)
        let cameBack = record.phase == .finished && current.state.isActive
        if source == .list { record.phase = .listed }
        record.missingSince = nil
        record.lastSeen = at
        let progressed = Progress.changed(from: previous, to: current)
        let before = Event.Previous(
            stage: previous.stage,
            state: previous.state.rawValue,
            operator: previous.operator.rawValue
        )

        if previous.stage != current.stage {
            // The pair and its ordinal among the DAG's stage changes, never the time it was seen: two replicas (or
            // two runs) that see the same change give it the same id, so the outbox's idempotency key absorbs a
            // change seen twice across a takeover.
            let ordinal = (record.occurrences[EventType.stageAdvanced.rawValue] ?? 0) + 1
            self.emit(
                .stageAdvanced,
                record: &record,
                key: "\(previous.stage)>\(current.stage)#\(ordinal)",
                at: at,
                dag: current,
                node: current.currentNode,
                previous: before,
                summary: self.describe(current, "moved from stage \(previous.stage) to")
            )
        }
        if progressed {
            record.stalledNanoseconds = 0
            record.stallMark = at
            record.lastProgress = at
            record.firedThresholds = []
            if record.stalledIncidentOpen {
                record.stalledIncidentOpen = false
                self.emit(
                    .resumed,
                    record: &record,
                    key: String(record.stallEpisodes),
                    incident: self.incident(current.id, "stalled"),
                    at: at,
                    dag: current,
                    node: current.currentNode,
                    previous: before,
                    summary: self.describe(current, "makes progress again at")
                )
            }
        }

        // A failure that came and was retried while obwatch was not watching (stopped, polls failing, or simply
        // between two polls) is reported late, before the retry that shows it.
        let missed = record.failedFired ? [] : Progress.missedFailures(from: previous, to: current)
        if !missed.isEmpty {
            self.reportLateFailure(&record, nodeIDs: missed, dag: dag, current: current, before: before, at: at)
        }

        // Running again: rollback or retry, which end the failure episode.
        let nodeRetried = Progress.nodeBecameRetry(from: previous, to: current) || !missed.isEmpty
        if current.state.isActive {
            let rollbackStarts =
                current.operator == .rollback
                && (previous.operator != .rollback || !previous.state.isActive || cameBack)
            let runsAgain = previous.state == .failed || cameBack || nodeRetried
            if rollbackStarts {
                self.startRollback(
                    &record,
                    previous: previous,
                    current: current,
                    before: before,
                    at: at,
                    "is rolling back from"
                )
            } else if runsAgain, current.operator != .cancel, current.operator != .rollback {
                self.retry(&record, previous: previous, current: current, before: before, at: at, "runs again at")
            }
            record.finalFired = nil
        } else if current.operator == .rollback, previous.operator != .rollback {
            // The whole rollback happened between two observations (an outage): it still started, and its failure
            // is a new episode.
            self.startRollback(
                &record,
                previous: previous,
                current: current,
                before: before,
                at: at,
                "rolled back from"
            )
        } else if nodeRetried, current.operator != .cancel {
            // A retry that ran and failed again between two observations: the retry is reported, then the new
            // failure in a new episode.
            self.retry(&record, previous: previous, current: current, before: before, at: at, "was retried at")
        }

        // A slow node is resolved before the DAG's final event, which stays the last word on the run.
        self.slowness(&record, dag: dag, current: current, at: at, source: source)
        self.failuresAndFinal(&record, previous: previous, dag: dag, summary: current, at: at, source: source)

        if source == .list, !progressed {
            self.countStall(&record, current: current, at: at)
        }
        record.last = current
    }

    /// ``observe(_:_:at:source:)`` of a listed DAG whose summary equals `record.last` and that the last list showed
    /// too: no stage change, no progress, no missed failure, no retry or rollback can show, so only what moves with
    /// time is worked out (ETA, usual time, `slow`, failures not yet reported, the stall clock).
    mutating func observeUnchanged(_ record: inout DagRecord, _ dag: Dag, at: ObshellTime) {
        self.currentETA = self.eta(of: dag)
        defer { self.currentETA = nil }
        record.eta = self.currentETA
        record.usualSeconds = self.usualSeconds(of: dag)
        let current = record.last
        record.phase = .listed
        record.lastSeen = at
        if current.state.isActive { record.finalFired = nil }
        self.slowness(&record, dag: dag, current: current, at: at, source: .list)
        self.failuresAndFinal(&record, previous: current, dag: dag, summary: current, at: at, source: .list)
        self.countStall(&record, current: current, at: at)
    }

    /// `node_failed`, then the final event, for a DAG observed with `dag`.
    mutating func failuresAndFinal(
        _ record: inout DagRecord,
        previous: DagSummary?,
        dag: Dag,
        summary: DagSummary,
        at: ObshellTime,
        source: Source
    ) {
        let before = previous.map {
            Event.Previous(stage: $0.stage, state: $0.state.rawValue, operator: $0.operator.rawValue)
        }
        for node in dag.nodes ?? [] where node.state == .failed && node.operator != .cancel {
            guard !record.failedNodes.contains(node.id) else { continue }
            self.beginFailureEpisode(&record)
            record.failedNodes.append(node.id)
            record.failedIncidentOpen = true
            self.emit(
                .nodeFailed,
                record: &record,
                key: "\(record.failureEpisodes)/\(node.id)",
                incident: self.incident(summary.id, "failed"),
                at: at,
                dag: summary,
                node: NodeSummary(node),
                subTasks: Self.failedSubTasks(of: [node]),
                previous: before,
                summary: "Node \(node.name) of \(summary.name) failed at stage \(summary.stage)/\(summary.maxStage)"
                    + " on \(self.target.name)"
            )
        }

        guard summary.state.isFinal else { return }
        let finalKey = "\(summary.state.rawValue)/\(summary.operator.rawValue)"
        if summary.state == .succeed || source == .confirmation {
            record.phase = .finished
            record.missingSince = nil
        }
        if summary.state == .failed, summary.operator != .cancel {
            guard !record.failedFired else {
                record.finalFired = finalKey
                return
            }
            self.beginFailureEpisode(&record)
            record.failedFired = true
            record.failedIncidentOpen = true
            record.finalFired = finalKey
            let failedNodes = (dag.nodes ?? []).filter { $0.state == .failed }
            self.emit(
                .failed,
                record: &record,
                key: String(record.failureEpisodes),
                incident: self.incident(summary.id, "failed"),
                at: at,
                dag: summary,
                node: failedNodes.first.map(NodeSummary.init) ?? summary.currentNode,
                subTasks: failedNodes.isEmpty ? nil : Self.failedSubTasks(of: failedNodes),
                previous: before,
                summary: self.describe(summary, summary.operator == .rollback ? "failed to roll back at" : "failed at")
            )
            return
        }
        guard record.finalFired != finalKey else { return }
        record.finalFired = finalKey
        let type: EventType
        let verb: String
        switch (summary.state, summary.operator) {
        case (.failed, _):
            type = .cancelled
            verb = "was cancelled at"
        case (_, .pass):
            type = .passed
            verb = "was passed at"
        case (_, .rollback):
            type = .rolledBack
            verb = "was rolled back to"
        default:
            type = .succeeded
            verb = "succeeded at"
        }
        let incident = self.resolveFailure(&record, dagID: summary.id)
        self.endFailureEpisode(&record, previous: previous, current: summary)
        self.emit(
            type,
            record: &record,
            incident: incident,
            at: at,
            dag: summary,
            node: summary.currentNode,
            previous: before,
            summary: self.describe(summary, verb)
        )
    }

    /// `node_failed` (for each node not reported yet in the episode) and `failed`, both `observed_late`, for a failure
    /// that only the retry after it shows.
    mutating func reportLateFailure(
        _ record: inout DagRecord,
        nodeIDs: [String],
        dag: Dag,
        current: DagSummary,
        before: Event.Previous,
        at: ObshellTime
    ) {
        let allNodes = dag.nodes ?? []
        let nodes = allNodes.filter { nodeIDs.contains($0.id) }
        guard let first = nodes.first else { return }
        // The stage a node stands at: the DAG's own stage may have moved on since (a retry that succeeded).
        func stage(of node: DagNode) -> Int { (allNodes.firstIndex { $0.id == node.id } ?? 0) + 1 }
        let late = " while obwatch was not watching"
        self.beginFailureEpisode(&record)
        record.failedIncidentOpen = true
        let incident = self.incident(current.id, "failed")
        for node in nodes where !record.failedNodes.contains(node.id) {
            record.failedNodes.append(node.id)
            self.emit(
                .nodeFailed,
                record: &record,
                key: "\(record.failureEpisodes)/\(node.id)",
                incident: incident,
                at: at,
                dag: current,
                node: NodeSummary(node),
                subTasks: Self.failedSubTasks(of: [node]),
                previous: before,
                observedLate: true,
                summary: "Node \(node.name) of \(current.name) failed at stage \(stage(of: node))/\(current.maxStage)"
                    + " on \(self.target.name)" + late
            )
        }
        record.failedFired = true
        self.emit(
            .failed,
            record: &record,
            key: String(record.failureEpisodes),
            incident: incident,
            at: at,
            dag: current,
            node: NodeSummary(first),
            subTasks: Self.failedSubTasks(of: nodes),
            previous: before,
            observedLate: true,
            summary: "\(current.name) failed at stage \(stage(of: first))/\(current.maxStage) (\(first.name))"
                + " on \(self.target.name)" + late
        )
    }

    mutating func countStall(_ record: inout DagRecord, current: DagSummary, at: ObshellTime) {
        if let mark = record.stallMark, mark < at {
            record.stalledNanoseconds =
                record.stalledNanoseconds.addingReportingOverflow(
                    Progress.nanoseconds(mark.duration(to: at))
                ).partialValue
        }
        record.stallMark = at
        guard current.state.isActive else { return }
        for threshold in self.settings.orderedThresholds
        where !record.firedThresholds.contains(threshold.text)
            && record.stalledNanoseconds >= Progress.nanoseconds(threshold.duration)
        {
            if record.firedThresholds.isEmpty { record.stallEpisodes += 1 }
            record.firedThresholds.append(threshold.text)
            record.stalledIncidentOpen = true
            self.emit(
                .stalled,
                record: &record,
                key: "\(record.stallEpisodes)/\(threshold.text)",
                incident: self.incident(current.id, "stalled"),
                at: at,
                dag: current,
                node: current.currentNode,
                stalledSeconds: record.stalledNanoseconds / 1_000_000_000,
                threshold: threshold.text,
                summary: self.describe(current, "made no progress for \(threshold.text) at")
            )
        }
    }

    /// `caught_up` for an open slow node that no longer runs (finished, failed, another attempt, the DAG ended),
    /// then `slow` for the running node at each threshold it passed, once per node attempt and threshold.
    ///
    /// A node attempt is the node id and its start time: RETRY resets and restarts it, a new attempt. Elapsed is
    /// obshell's clock at the answer minus the node's start time; a start at the epoch (reset by an operator) is
    /// no start. Only lists fire `slow` (a confirmation of a running DAG changes nothing).
    mutating func slowness(_ record: inout DagRecord, dag: Dag, current: DagSummary, at: ObshellTime, source: Source) {
        let running = dag.currentNode.flatMap { node -> (DagNode, Double)? in
            guard current.state == .running, current.operator == .run,
                let elapsed = DagEstimate.elapsed(of: node, at: self.agentTime)
            else { return nil }
            return (node, elapsed)
        }
        let attempt = running.map { node, _ in node.id + "@" + (node.startTime?.text ?? "") }
        if let open = record.slowOpen, open != attempt {
            record.slowOpen = nil
            let openNode = open.split(separator: "@", maxSplits: 1).first.map(String.init) ?? open
            let node = (dag.nodes ?? []).first { $0.id == openNode }
            let how =
                if node?.state == .succeed {
                    "finished"
                } else if !current.state.isActive {
                    "ended with its DAG (\(current.state.rawValue))"
                } else {
                    "stopped running"
                }
            self.emit(
                .caughtUp,
                record: &record,
                key: open,
                incident: self.incident(current.id, "slow"),
                at: at,
                dag: current,
                node: node.map(NodeSummary.init) ?? current.currentNode,
                summary: "Slow node \(node?.name ?? openNode) of \(current.name) \(how) on \(self.target.name)"
            )
        }
        guard source == .list, !self.history.isEmpty, let (node, elapsed) = running, let attempt else { return }
        let dagTemplate = NameTemplates.dagTemplate(dag.name)
        let key = DurationKey(
            target: self.target.name,
            dagTemplate: dagTemplate,
            nodeTemplate: NameTemplates.nodeTemplate(node.name, dagTemplate: dagTemplate),
            width: node.subTasks.count
        )
        guard let pool = self.history.pool(for: key) else { return }
        var fired = record.slowFired ?? []
        for rule in self.settings.orderedSlowThresholds where !fired.contains(attempt + "/" + rule.text) {
            let threshold = rule.threshold(pool.statistics)
            guard elapsed > threshold.seconds else { continue }
            fired.append(attempt + "/" + rule.text)
            record.slowOpen = attempt
            self.emit(
                .slow,
                record: &record,
                key: attempt + "/" + rule.text,
                incident: self.incident(current.id, "slow"),
                at: at,
                dag: current,
                node: NodeSummary(node),
                threshold: rule.text,
                elapsedSeconds: Int64(elapsed.rounded(.down)),
                thresholdSeconds: Int64(threshold.seconds.rounded(.up)),
                summary:
                    "Node \(node.name) of \(current.name) is slow at stage \(current.stage)/\(current.maxStage) on "
                    + "\(self.target.name): " + threshold.explain(elapsed: elapsed)
            )
        }
        record.slowFired = fired
    }

    mutating func vanish(_ record: inout DagRecord, at: ObshellTime) {
        record.phase = .vanished
        record.vanishedAt = at
        record.missingSince = nil
        let last = record.last
        self.emit(
            .vanished,
            record: &record,
            at: at,
            dag: last,
            node: last.currentNode,
            summary: "\(last.name) left the task list of \(self.target.name) at stage \(last.stage)/\(last.maxStage)"
                + " and its final state could not be confirmed"
        )
    }

    // MARK: - Episodes and incidents

    func incident(_ dagID: String, _ kind: String) -> String { "\(self.target.name)/\(dagID)/\(kind)" }

    mutating func beginFailureEpisode(_ record: inout DagRecord) {
        guard !record.failureEpisodeActive else { return }
        record.failureEpisodeActive = true
        record.failureEpisodes += 1
        record.failedFired = false
    }

    /// Ends the failure episode; nodes still failed exactly as before stay quiet until they change.
    /// `rollback_started`: the failure episode ends and the rollback begins.
    mutating func startRollback(
        _ record: inout DagRecord,
        previous: DagSummary,
        current: DagSummary,
        before: Event.Previous?,
        at: ObshellTime,
        _ phrase: String
    ) {
        self.endFailureEpisode(&record, previous: previous, current: current)
        self.emit(
            .rollbackStarted,
            record: &record,
            at: at,
            dag: current,
            node: current.currentNode,
            previous: before,
            summary: self.describe(current, phrase)
        )
    }

    /// `retried`: resolves the open failure incident and ends its episode.
    mutating func retry(
        _ record: inout DagRecord,
        previous: DagSummary,
        current: DagSummary,
        before: Event.Previous?,
        at: ObshellTime,
        _ phrase: String
    ) {
        let incident = self.resolveFailure(&record, dagID: current.id)
        self.endFailureEpisode(&record, previous: previous, current: current)
        self.emit(
            .retried,
            record: &record,
            incident: incident,
            at: at,
            dag: current,
            node: current.currentNode,
            previous: before,
            summary: self.describe(current, phrase)
        )
    }

    mutating func endFailureEpisode(_ record: inout DagRecord, previous: DagSummary?, current: DagSummary) {
        record.failureEpisodeActive = false
        record.failedFired = false
        let before = Dictionary((previous?.nodes ?? []).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        record.failedNodes = (current.nodes ?? []).filter { node in
            guard node.state == .failed, let old = before[node.id] else { return false }
            return old.state == .failed && old.operator == node.operator
        }.map(\.id)
    }

    /// Closes the failed incident when one is open, returning it for the resolving event.
    mutating func resolveFailure(_ record: inout DagRecord, dagID: String) -> String? {
        guard record.failedIncidentOpen else { return nil }
        record.failedIncidentOpen = false
        return self.incident(dagID, "failed")
    }

    // MARK: - Building events

    mutating func emit(
        _ type: EventType,
        record: inout DagRecord,
        key: String? = nil,
        incident: String? = nil,
        at: ObshellTime,
        dag: DagSummary,
        node: NodeSummary?,
        subTasks: [Event.SubTaskInfo]? = nil,
        previous: Event.Previous? = nil,
        observedMidRun: Bool? = nil,
        observedLate: Bool? = nil,
        stalledSeconds: Int64? = nil,
        threshold: String? = nil,
        elapsedSeconds: Int64? = nil,
        thresholdSeconds: Int64? = nil,
        summary: String
    ) {
        let count = (record.occurrences[type.rawValue] ?? 0) + 1
        record.occurrences[type.rawValue] = count
        let episodeKey = key ?? String(count)
        self.events.append(
            Event(
                id: EventID.make([self.target.name, dag.id, type.rawValue, episodeKey]),
                type: type,
                incident: incident,
                at: at,
                target: self.target,
                dag: Event.DagInfo(
                    id: dag.id,
                    dagID: dag.dagID,
                    name: dag.name,
                    stage: dag.stage,
                    maxStage: dag.maxStage,
                    state: dag.state.rawValue,
                    operator: dag.operator.rawValue,
                    startTime: dag.startTime?.text,
                    endTime: dag.endTime?.text
                ),
                node: node.map {
                    Event.NodeInfo(
                        id: $0.id,
                        nodeID: $0.nodeID,
                        name: $0.name,
                        state: $0.state.rawValue,
                        operator: $0.operator.rawValue
                    )
                },
                subTasks: subTasks,
                previous: previous,
                observedMidRun: observedMidRun,
                observedLate: observedLate,
                stalledSeconds: stalledSeconds,
                threshold: threshold,
                elapsedSeconds: elapsedSeconds,
                thresholdSeconds: thresholdSeconds,
                eta: [.started, .stageAdvanced, .slow].contains(type) ? self.currentETA : nil,
                summary: summary
            )
        )
    }

    /// `Cluster scale out failed at stage 4/9 (Wait remote deploy finish) on prod-east`.
    func describe(_ dag: DagSummary, _ verb: String) -> String {
        var text = "\(dag.name) \(verb)"
        if !verb.hasSuffix(" at") && !verb.hasSuffix(" to") && !verb.hasSuffix(" from") {
            text += " at"
        }
        text += " stage \(dag.stage)/\(dag.maxStage)"
        if let node = dag.currentNode { text += " (\(node.name))" }
        return text + " on \(self.target.name)"
    }

    /// The failed sub-tasks of these nodes (all their sub-tasks when none is marked FAILED), with last log lines.
    static func failedSubTasks(of nodes: [DagNode]) -> [Event.SubTaskInfo] {
        nodes.flatMap { node -> [Event.SubTaskInfo] in
            let failed = node.subTasks.filter { $0.state == .failed }
            return (failed.isEmpty ? node.subTasks : failed).map {
                Event.SubTaskInfo(
                    id: $0.id,
                    name: $0.name,
                    state: $0.state.rawValue,
                    executeTimes: $0.executeTimes,
                    executeAgent: $0.executeAgent,
                    lastLog: $0.lastLog
                )
            }
        }
    }
}

/// What counts as progress (CONTRACT section 4, the `stalled` row): nothing else, and never list order.
enum Progress {
    static func changed(from old: DagSummary, to new: DagSummary) -> Bool {
        if old.state != new.state || old.operator != new.operator || old.stage != new.stage { return true }
        guard let oldNodes = old.nodes, let newNodes = new.nodes else { return false }
        return self.fingerprint(oldNodes) != self.fingerprint(newNodes)
    }

    /// Node and sub-task facts keyed by id, so that order does not matter.
    static func fingerprint(_ nodes: [NodeSummary]) -> [String: String] {
        var facts: [String: String] = [:]
        for node in nodes {
            facts["n" + node.id] = "\(node.state.rawValue)|\(node.operator.rawValue)"
            for subTask in node.subTasks {
                facts["t" + node.id + "/" + subTask.id] =
                    "\(subTask.state.rawValue)|\(subTask.executeTimes)|\(subTask.logCount)"
            }
        }
        return facts
    }

    static func nodeBecameRetry(from old: DagSummary, to new: DagSummary) -> Bool {
        let before = Dictionary((old.nodes ?? []).map { ($0.id, $0.operator) }, uniquingKeysWith: { first, _ in first })
        return (new.nodes ?? []).contains { node in
            guard node.operator == .retry, let previous = before[node.id] else { return false }
            return previous != .retry
        }
    }

    /// The nodes that show a failure the observations did not see, for a DAG last seen not FAILED (a seen failure is
    /// retried as usual) that runs forward (operator RUN), with details both times:
    /// - a node whose operator became RETRY: obshell allows RETRY only on a FAILED DAG;
    /// - a node under RUN both times with a sub-task whose `execute_times` rose from at least 1: under RUN a
    ///   sub-task is set READY (which raises it) only once, from PENDING, so it ran again after a reset.
    ///
    /// A node under RETRY both times is no evidence: the retry itself raises `execute_times` more than once (a
    /// sub-task that had failed is set READY to roll back, then READY to run again).
    static func missedFailures(from old: DagSummary, to new: DagSummary) -> [String] {
        guard old.state != .failed, new.operator == .run, let oldNodes = old.nodes, let newNodes = new.nodes else {
            return []
        }
        let before = Dictionary(oldNodes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return newNodes.filter { node in
            guard let previous = before[node.id] else { return false }
            if node.operator == .retry { return previous.operator != .retry }
            guard node.operator == .run, previous.operator == .run else { return false }
            let ran = Dictionary(
                previous.subTasks.map { ($0.id, $0.executeTimes) },
                uniquingKeysWith: { first, _ in first }
            )
            return node.subTasks.contains { subTask in
                guard let times = ran[subTask.id], times >= 1 else { return false }
                return subTask.executeTimes > times
            }
        }.map(\.id)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
