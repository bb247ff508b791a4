package import ObshellModel

/// What a duration is kept under: the target, the DAG's template, the node's template (`nil` for the whole DAG) and
/// the parallel width (the node's sub-task count; 0 for the whole DAG).
package struct DurationKey: Sendable, Hashable, Codable, Comparable {
    /// The target's name.
    package var target: String
    /// The DAG's name template (``NameTemplates/dagTemplate(_:)``).
    package var dagTemplate: String
    /// The node's name template, or `nil` for a whole-DAG record.
    package var nodeTemplate: String?
    /// The node's sub-task count: one per agent for a parallel node, 1 for a serial one; 0 for a whole DAG.
    package var width: Int

    /// Makes a key.
    package init(target: String, dagTemplate: String, nodeTemplate: String?, width: Int) {
        self.target = target
        self.dagTemplate = dagTemplate
        self.nodeTemplate = nodeTemplate
        self.width = width
    }

    /// The same key on every target: what a pool across targets gathers.
    var acrossTargets: [String] { [self.dagTemplate, self.nodeTemplate ?? "", String(self.width)] }

    enum CodingKeys: String, CodingKey {
        case target
        case dagTemplate = "dag"
        case nodeTemplate = "node"
        case width
    }

    /// Orders by target, DAG, node (whole DAG first), width: the order `history show` prints.
    package static func < (lhs: DurationKey, rhs: DurationKey) -> Bool {
        (lhs.target, lhs.dagTemplate, lhs.nodeTemplate ?? "", lhs.width)
            < (rhs.target, rhs.dagTemplate, rhs.nodeTemplate ?? "", rhs.width)
    }
}

/// One successful run of a node (or a whole DAG).
package struct DurationSample: Sendable, Hashable, Codable {
    /// How long it took, in seconds (its end time minus its start time, both from obshell's clock).
    package var seconds: Double
    /// When it finished, on obshell's clock: what the 180-day window and the last-20 order go by.
    package var finishedAt: ObshellTime
    /// Where it came from (`DAG id/node id`, or the DAG id): the same run seen again is not counted twice.
    package var source: String

    /// Makes a sample.
    package init(seconds: Double, finishedAt: ObshellTime, source: String) {
        self.seconds = seconds
        self.finishedAt = finishedAt
        self.source = source
    }
}

/// A usable pool of samples and where it came from.
package struct DurationPool: Sendable, Hashable {
    /// Whether the pool is this target's own history or every target's.
    package enum Scope: String, Sendable, Hashable {
        /// The target's own samples (at least ``DurationHistory/minimumForTarget``).
        case target
        /// Samples of every target for the same template (at least ``DurationHistory/minimumAcrossTargets``).
        case allTargets = "all targets"
    }

    /// Where the samples come from.
    package var scope: Scope
    /// Their statistics.
    package var statistics: DurationStatistics
}

/// The duration history: the last ``keep`` successful runs per ``DurationKey`` within ``window``.
///
/// A pure value: the tracker reads it, the daemon and `replay` feed it with ``learn(from:target:)``, and a
/// ``HistoryStore`` keeps it. `templatesVersion` is the ``NameTemplates/version`` its keys were made with.
package struct DurationHistory: Sendable, Hashable, Codable {
    /// The format this build writes and reads.
    package static let currentVersion = 1
    /// How many runs are kept per key.
    package static let keep = 20
    /// How old a run may be (by its finish time, against the newest run of the key).
    package static let window: Duration = .seconds(180 * 86_400)
    /// The target's own samples needed before they are used.
    package static let minimumForTarget = 5
    /// Samples across targets needed before they are used, when the target has too few.
    package static let minimumAcrossTargets = 10

    /// The format of this value.
    package var version: Int
    /// The ``NameTemplates/version`` the keys were made with.
    package var templatesVersion: Int
    /// The samples of every key, oldest first.
    package private(set) var samples: [DurationKey: [DurationSample]]

    /// An empty history.
    package init() {
        self.version = Self.currentVersion
        self.templatesVersion = NameTemplates.version
        self.samples = [:]
    }

    /// Whether nothing is known.
    package var isEmpty: Bool { self.samples.isEmpty }

    /// Every key, in ``DurationKey`` order.
    package var keys: [DurationKey] { self.samples.keys.sorted() }

    /// Adds one sample; a sample of the same source already kept is not added again.
    /// - Returns: Whether the history changed.
    @discardableResult
    package mutating func record(_ sample: DurationSample, under key: DurationKey) -> Bool {
        var list = self.samples[key] ?? []
        guard !list.contains(where: { $0.source == sample.source }) else { return false }
        list.append(sample)
        list.sort { ($0.finishedAt, $0.source) < ($1.finishedAt, $1.source) }
        if let newest = list.last?.finishedAt {
            let oldest = newest.adding(.zero - Self.window)
            list.removeAll { $0.finishedAt < oldest }
        }
        if list.count > Self.keep { list.removeFirst(list.count - Self.keep) }
        self.samples[key] = list
        return list.contains { $0.source == sample.source }
    }

    /// Adds every sample of `other` (a backfill, an exported file); keys made with other templates are skipped.
    /// - Returns: How many samples were added.
    @discardableResult
    package mutating func merge(_ other: DurationHistory) -> Int {
        guard other.templatesVersion == self.templatesVersion else { return 0 }
        var added = 0
        for key in other.keys {
            for sample in other.samples[key] ?? [] where self.record(sample, under: key) { added += 1 }
        }
        return added
    }

    /// Learns from one observation of a DAG: every node that finished SUCCEED under operator RUN while the DAG runs
    /// forward (operator RUN), and the whole DAG when it finished SUCCEED/RUN with every node SUCCEED/RUN.
    ///
    /// Left out, as the duration of a normal run would be wrong for them: nodes passed (PASS), rolled back
    /// (ROLLBACK), cancelled, failed or retried (their operator is RETRY: the successful attempt after a failure),
    /// a DAG under ROLLBACK or CANCEL, and times that are the epoch (reset by an operator) or run backwards.
    /// Seeing the same DAG again adds nothing (samples are deduplicated by source).
    /// - Returns: Whether the history changed.
    @discardableResult
    package mutating func learn(from dag: Dag, target: String) -> Bool {
        guard dag.operator == .run, let nodes = dag.nodes else { return false }
        let dagTemplate = NameTemplates.dagTemplate(dag.name)
        var changed = false
        for node in nodes where node.state == .succeed && node.operator == .run {
            guard let seconds = Self.seconds(from: node.startTime, to: node.endTime), let end = node.endTime else {
                continue
            }
            let key = DurationKey(
                target: target,
                dagTemplate: dagTemplate,
                nodeTemplate: NameTemplates.nodeTemplate(node.name, dagTemplate: dagTemplate),
                width: node.subTasks.count
            )
            let sample = DurationSample(seconds: seconds, finishedAt: end, source: dag.id + "/" + node.id)
            if self.record(sample, under: key) { changed = true }
        }
        let allNormal = !nodes.isEmpty && nodes.allSatisfy { $0.state == .succeed && $0.operator == .run }
        if dag.state == .succeed, allNormal, let seconds = Self.seconds(from: dag.startTime, to: dag.endTime),
            let end = dag.endTime
        {
            let key = DurationKey(target: target, dagTemplate: dagTemplate, nodeTemplate: nil, width: 0)
            if self.record(DurationSample(seconds: seconds, finishedAt: end, source: dag.id), under: key) {
                changed = true
            }
        }
        return changed
    }

    /// The samples usable for `key`: the target's own when it has ``minimumForTarget``, else every target's for the
    /// same templates and width when they are ``minimumAcrossTargets``, else `nil` (too little history).
    package func pool(for key: DurationKey) -> DurationPool? {
        let own = (self.samples[key] ?? []).map(\.seconds)
        if own.count >= Self.minimumForTarget, let statistics = DurationStatistics(seconds: own) {
            return DurationPool(scope: .target, statistics: statistics)
        }
        let shared = key.acrossTargets
        let all = self.samples.filter { $0.key.acrossTargets == shared }.values.flatMap { $0.map(\.seconds) }
        if all.count >= Self.minimumAcrossTargets, let statistics = DurationStatistics(seconds: all) {
            return DurationPool(scope: .allTargets, statistics: statistics)
        }
        return nil
    }

    /// Drops samples older than ``window`` before `now`, and keys left empty.
    package mutating func prune(now: ObshellTime) {
        let oldest = now.adding(.zero - Self.window)
        for key in self.samples.keys {
            let kept = (self.samples[key] ?? []).filter { !($0.finishedAt < oldest) }
            self.samples[key] = kept.isEmpty ? nil : kept
        }
    }

    /// Seconds between two obshell times; `nil` when either is missing or the epoch, or when they run backwards.
    static func seconds(from start: ObshellTime?, to end: ObshellTime?) -> Double? {
        guard let start, let end, !start.isEpoch, !end.isEpoch, !(end < start) else { return nil }
        let (whole, attoseconds) = start.duration(to: end).components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    // MARK: - Codable: keys as a list (a dictionary with struct keys would encode as a flat array)

    private struct Entry: Codable {
        var key: DurationKey
        var samples: [DurationSample]
    }

    enum CodingKeys: String, CodingKey {
        case version
        case templatesVersion = "templates_version"
        case entries
    }

    /// Reads a history.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.version = try container.decode(Int.self, forKey: .version)
        self.templatesVersion = try container.decode(Int.self, forKey: .templatesVersion)
        let entries = try container.decode([Entry].self, forKey: .entries)
        self.samples = Dictionary(entries.map { ($0.key, $0.samples) }, uniquingKeysWith: { first, _ in first })
    }

    /// Writes a history, keys in order.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.version, forKey: .version)
        try container.encode(self.templatesVersion, forKey: .templatesVersion)
        try container.encode(self.keys.map { Entry(key: $0, samples: self.samples[$0] ?? []) }, forKey: .entries)
    }
}
