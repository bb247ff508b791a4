package import ObshellModel
import Synchronization

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
    var acrossTargets: SharedDurationKey {
        SharedDurationKey(dagTemplate: self.dagTemplate, nodeTemplate: self.nodeTemplate ?? "", width: self.width)
    }

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

/// A ``DurationKey`` without its target: what a pool across targets gathers (no node template compares as the empty
/// one, as the history always compared them).
struct SharedDurationKey: Sendable, Hashable {
    var dagTemplate: String
    var nodeTemplate: String
    var width: Int
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
    /// The keys of ``samples`` per template and width: the members of each pool across targets.
    private var keysAcrossTargets: [SharedDurationKey: Set<DurationKey>]
    /// The pools computed so far. Every poll asks for the pool of each node of each running DAG, and the samples
    /// change only when a run finishes: a change forgets the pools of its key alone. Derived from ``samples``, so
    /// not part of the value (equality, hashing, coding).
    private var pools = PoolCache()

    /// An empty history.
    package init() {
        self.version = Self.currentVersion
        self.templatesVersion = NameTemplates.version
        self.samples = [:]
        self.keysAcrossTargets = [:]
    }

    /// Histories are equal when their format, templates and samples are (the rest is derived from them).
    package static func == (lhs: DurationHistory, rhs: DurationHistory) -> Bool {
        lhs.version == rhs.version && lhs.templatesVersion == rhs.templatesVersion && lhs.samples == rhs.samples
    }

    /// Hashes the format, templates and samples.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(self.version)
        hasher.combine(self.templatesVersion)
        hasher.combine(self.samples)
    }

    /// Whether nothing is known.
    package var isEmpty: Bool { self.samples.isEmpty }

    /// Every key, in ``DurationKey`` order.
    package var keys: [DurationKey] { self.samples.keys.sorted() }

    /// Adds one sample; a sample of the same source already kept is not added again.
    /// - Returns: Whether the history changed.
    @discardableResult
    package mutating func record(_ sample: DurationSample, under key: DurationKey) -> Bool {
        let before = self.samples[key] ?? []
        var list = before
        guard !list.contains(where: { $0.source == sample.source }) else { return false }
        list.append(sample)
        list.sort { ($0.finishedAt, $0.source) < ($1.finishedAt, $1.source) }
        if let newest = list.last?.finishedAt {
            let oldest = newest.adding(.zero - Self.window)
            list.removeAll { $0.finishedAt < oldest }
        }
        if list.count > Self.keep { list.removeFirst(list.count - Self.keep) }
        if list != before || self.samples[key] == nil { self.store(list, under: key) }
        return list.contains { $0.source == sample.source }
    }

    /// Replaces the samples of `key` (`nil` or empty removes the key) and forgets the pools they made.
    private mutating func store(_ list: [DurationSample]?, under key: DurationKey) {
        let kept = list?.isEmpty == false ? list : nil
        let shared = key.acrossTargets
        if kept == nil {
            self.keysAcrossTargets[shared]?.remove(key)
            if self.keysAcrossTargets[shared]?.isEmpty == true { self.keysAcrossTargets[shared] = nil }
        } else if self.samples[key] == nil {
            self.keysAcrossTargets[shared, default: []].insert(key)
        }
        self.samples[key] = kept
        if !isKnownUniquelyReferenced(&self.pools) { self.pools = self.pools.copy() }
        self.pools.forget(key)
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
    ///
    /// Computed once and kept until a sample of the pool changes.
    package func pool(for key: DurationKey) -> DurationPool? {
        if let own = self.pools.own(of: key, computing: { self.ownPool(of: key) }) { return own }
        let shared = key.acrossTargets
        return self.pools.shared(of: shared, computing: { self.sharedPool(of: shared) })
    }

    /// The target's own pool of `key`, when it has ``minimumForTarget`` samples.
    private func ownPool(of key: DurationKey) -> DurationPool? {
        let own = (self.samples[key] ?? []).map(\.seconds)
        guard own.count >= Self.minimumForTarget, let statistics = DurationStatistics(seconds: own) else { return nil }
        return DurationPool(scope: .target, statistics: statistics)
    }

    /// Every target's pool for a template and width, when they have ``minimumAcrossTargets`` samples. The order
    /// of the samples does not matter: the statistics sort them.
    private func sharedPool(of shared: SharedDurationKey) -> DurationPool? {
        var all: [Double] = []
        for key in self.keysAcrossTargets[shared] ?? [] {
            all.append(contentsOf: (self.samples[key] ?? []).lazy.map(\.seconds))
        }
        guard all.count >= Self.minimumAcrossTargets, let statistics = DurationStatistics(seconds: all) else {
            return nil
        }
        return DurationPool(scope: .allTargets, statistics: statistics)
    }

    /// Drops samples older than ``window`` before `now`, and keys left empty.
    package mutating func prune(now: ObshellTime) {
        let oldest = now.adding(.zero - Self.window)
        for key in Array(self.samples.keys) {
            let list = self.samples[key] ?? []
            let kept = list.filter { !($0.finishedAt < oldest) }
            if kept.count != list.count { self.store(kept, under: key) }
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
        self.keysAcrossTargets = [:]
        for key in self.samples.keys { self.keysAcrossTargets[key.acrossTargets, default: []].insert(key) }
    }

    /// Writes a history, keys in order.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.version, forKey: .version)
        try container.encode(self.templatesVersion, forKey: .templatesVersion)
        try container.encode(self.keys.map { Entry(key: $0, samples: self.samples[$0] ?? []) }, forKey: .entries)
    }
}

/// The pools of a ``DurationHistory``, computed on demand. A reference shared by the history's copies, so that a
/// copy read by a poll keeps what the history computed; a history that changes takes its own copy first when others
/// hold this one (copy on write), so no copy ever sees pools of samples it does not have.
private final class PoolCache: Sendable {
    private struct Contents {
        /// Each key's own pool asked for so far (`nil`: fewer than the minimum).
        var own: [DurationKey: DurationPool?] = [:]
        /// Each pool across targets asked for so far (`nil`: fewer than the minimum).
        var shared: [SharedDurationKey: DurationPool?] = [:]
    }

    private let contents: Mutex<Contents>

    init() { self.contents = Mutex(Contents()) }

    private init(_ contents: Contents) { self.contents = Mutex(contents) }

    /// A cache of its own with what this one holds.
    func copy() -> PoolCache { PoolCache(self.contents.withLock { $0 }) }

    /// Forgets the pools the samples of `key` are part of.
    func forget(_ key: DurationKey) {
        self.contents.withLock { contents in
            contents.own[key] = nil
            contents.shared[key.acrossTargets] = nil
        }
    }

    /// The own pool of `key`, computed on first use.
    func own(of key: DurationKey, computing compute: () -> DurationPool?) -> DurationPool? {
        if let known = self.contents.withLock({ $0.own[key] }) { return known }
        let pool = compute()
        self.contents.withLock { $0.own[key] = .some(pool) }
        return pool
    }

    /// The pool across targets of `shared`, computed on first use.
    func shared(of shared: SharedDurationKey, computing compute: () -> DurationPool?) -> DurationPool? {
        if let known = self.contents.withLock({ $0.shared[shared] }) { return known }
        let pool = compute()
        self.contents.withLock { $0.shared[shared] = .some(pool) }
        return pool
    }
}
