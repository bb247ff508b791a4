package import ObshellModel

/// A band of remaining time: the sums of p25 (``low``), p50 (``typical``) and p90 (``high``) over what is left.
package struct RemainingBand: Sendable, Hashable, Codable {
    /// Seconds left if every node runs at its p25.
    package var low: Double
    /// Seconds left at p50.
    package var typical: Double
    /// Seconds left at p90.
    package var high: Double

    /// Makes a band.
    package init(low: Double, typical: Double, high: Double) {
        self.low = low
        self.typical = typical
        self.high = high
    }

    /// `ETA 2m10s (1m40s–3m05s)`.
    package var text: String {
        let format = HistoryDurationText.format
        return "ETA \(format(self.typical)) (\(format(self.low))–\(format(self.high)))"
    }
}

/// What history says about one node of a DAG.
package struct NodeEstimate: Sendable, Hashable {
    /// The node's stage, 1-based.
    package var stage: Int
    /// The node's name.
    package var name: String
    /// The key its history is kept under.
    package var key: DurationKey
    /// Its usable history, or `nil` when there is too little.
    package var pool: DurationPool?

    /// `usually 41s` (its p50), or `no history`.
    package var usualText: String {
        guard let pool else { return "no history" }
        return "usually " + HistoryDurationText.format(pool.statistics.p50)
    }
}

/// The estimate of a running DAG: per-node history and, when every node still ahead has history, the band of time
/// left. Never a number history cannot back: ``remaining`` is `nil` ("ETA unknown") otherwise.
package struct DagEstimate: Sendable, Hashable {
    /// Every node, in stage order.
    package var nodes: [NodeEstimate]
    /// The time left, or `nil` when unknown.
    package var remaining: RemainingBand?
    /// Seconds the current node has run (obshell's clock), when it runs.
    package var currentElapsed: Double?

    /// `ETA 2m10s (1m40s–3m05s)` or `ETA unknown`.
    package var text: String { self.remaining?.text ?? "ETA unknown" }

    /// Estimates a DAG as seen at `agentTime` (the answer's `timestamp`, obshell's clock).
    ///
    /// The current node's remainder is its p50 minus its elapsed time while it is below p50 (band: p25 and p90 minus
    /// elapsed, not below zero); past p50 it comes from the tail: p90 minus elapsed, at least a tenth of p50, with the
    /// band from a tenth of p50 to that plus the p90–p50 spread. Nodes ahead add their p25/p50/p90. A node whose start
    /// time is the epoch (reset by RETRY or ROLLBACK) or after `agentTime` has not run yet: elapsed 0, so a retried DAG
    /// keeps one timeline instead of counting from 1970. A DAG without details, failed, or finished gets no band.
    /// - Parameters:
    ///   - dag: The DAG with its nodes.
    ///   - target: The target's name (the history key).
    ///   - agentTime: obshell's clock at the answer; `nil` makes elapsed unknown (counted as 0).
    ///   - history: What is known.
    package init(dag: Dag, target: String, agentTime: ObshellTime?, history: DurationHistory) {
        let dagTemplate = NameTemplates.dagTemplate(dag.name)
        let nodes = dag.nodes ?? []
        self.nodes = nodes.enumerated().map { index, node in
            let key = DurationKey(
                target: target,
                dagTemplate: dagTemplate,
                nodeTemplate: NameTemplates.nodeTemplate(node.name, dagTemplate: dagTemplate),
                width: node.subTasks.count
            )
            return NodeEstimate(stage: index + 1, name: node.name, key: key, pool: history.pool(for: key))
        }
        let current = dag.currentNode
        self.currentElapsed = current.flatMap { Self.elapsed(of: $0, at: agentTime) }
        guard !nodes.isEmpty, dag.state.isActive, dag.operator == .run, dag.stage >= 1, dag.stage <= nodes.count
        else {
            self.remaining = nil
            return
        }
        var band = RemainingBand(low: 0, typical: 0, high: 0)
        for estimate in self.nodes where estimate.stage >= dag.stage {
            let node = nodes[estimate.stage - 1]
            if node.state == .succeed { continue }
            guard let statistics = estimate.pool?.statistics else {
                self.remaining = nil
                return
            }
            let elapsed = estimate.stage == dag.stage ? (self.currentElapsed ?? 0) : 0
            let part = Self.rest(statistics, elapsed: elapsed)
            band.low += part.low
            band.typical += part.typical
            band.high += part.high
        }
        self.remaining = band
    }

    /// The remainder of a node that has run `elapsed` seconds.
    package static func rest(_ statistics: DurationStatistics, elapsed: Double) -> RemainingBand {
        if elapsed < statistics.p50 {
            return RemainingBand(
                low: max(statistics.p25 - elapsed, 0),
                typical: statistics.p50 - elapsed,
                high: max(statistics.p90 - elapsed, statistics.p50 - elapsed)
            )
        }
        let least = statistics.p50 * 0.1
        let typical = max(statistics.p90 - elapsed, least)
        return RemainingBand(low: least, typical: typical, high: typical + (statistics.p90 - statistics.p50))
    }

    /// Seconds a RUNNING node has run at `agentTime`; `nil` when it does not run, its start is the epoch (an
    /// operator reset it) or later than `agentTime`, or there is no agent time.
    package static func elapsed(of node: DagNode, at agentTime: ObshellTime?) -> Double? {
        guard node.state == .running, let agentTime else { return nil }
        return DurationHistory.seconds(from: node.startTime, to: agentTime)
    }
}
