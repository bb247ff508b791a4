package import ObshellModel
package import Tracker

/// A silence added while obwatch runs (`obwatch silence add`, `POST /api/v2/silences`), as opposed to the
/// configuration's `silences:`: a time window, matchers, who added it and why. It is kept in the store and routes
/// exactly like a configured absolute window (``asSilence()``).
package struct RuntimeSilence: Sendable, Hashable, Codable {
    /// What a silence matches, as written: every field given must hold, an absent one holds for every event.
    package struct Matchers: Sendable, Hashable, Codable {
        /// A glob on the target's name.
        package var target: String?
        /// Globs on target labels: every listed label must be present and match.
        package var labels: [String: String]
        /// A glob on the whole DAG name.
        package var dag: String?
        /// Event types; empty means every type.
        package var events: [EventType]

        /// Makes matchers; the defaults match everything.
        package init(
            target: String? = nil,
            labels: [String: String] = [:],
            dag: String? = nil,
            events: [EventType] = []
        ) {
            self.target = target
            self.labels = labels
            self.dag = dag
            self.events = events
        }

        /// Whether no condition is given (the silence would cover every event).
        package var isEmpty: Bool {
            self.target == nil && self.labels.isEmpty && self.dag == nil && self.events.isEmpty
        }

        /// The compiled matcher.
        /// - Throws: ``RuntimeSilenceError`` naming the field whose glob does not compile.
        package func compiled() throws(RuntimeSilenceError) -> EventMatcher {
            func glob(_ text: String, _ field: String) throws(RuntimeSilenceError) -> Glob {
                do {
                    return try Glob(text)
                } catch {
                    throw RuntimeSilenceError("\(field): \(error.message)")
                }
            }
            var labels: [String: Glob] = [:]
            for (key, value) in self.labels { labels[key] = try glob(value, "label \(key)") }
            return EventMatcher(
                types: self.events.isEmpty ? .all : .only(Set(self.events)),
                dag: try self.dag.map { text throws(RuntimeSilenceError) in .glob(try glob(text, "dag")) },
                target: try self.target.map { text throws(RuntimeSilenceError) in try glob(text, "target") },
                labels: labels
            )
        }
    }

    /// Where a silence stands at an instant, in Alertmanager's words.
    package enum State: String, Sendable, Hashable {
        /// Its window has not begun.
        case pending
        /// It silences now.
        case active
        /// Its end passed, or it was expired by hand.
        case expired
    }

    /// A unique id (a UUID).
    package var id: String
    /// What it matches.
    package var matchers: Matchers
    /// From (inclusive).
    package var startsAt: ObshellTime
    /// Until (exclusive), as asked when it was made.
    package var endsAt: ObshellTime
    /// Who added it.
    package var createdBy: String
    /// Why.
    package var comment: String
    /// When it was added.
    package var createdAt: ObshellTime
    /// When it was expired by hand, if it was.
    package var expiredAt: ObshellTime?

    /// Makes a silence.
    package init(
        id: String,
        matchers: Matchers,
        startsAt: ObshellTime,
        endsAt: ObshellTime,
        createdBy: String,
        comment: String,
        createdAt: ObshellTime,
        expiredAt: ObshellTime? = nil
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.createdAt = createdAt
        self.expiredAt = expiredAt
    }

    /// The end that holds: the earlier of `endsAt` and the hand expiry.
    package var effectiveEnd: ObshellTime {
        guard let expiredAt = self.expiredAt, self.endsAt.isLater(than: expiredAt) else { return self.endsAt }
        return expiredAt
    }

    /// Where it stands at `now`.
    package func state(at now: ObshellTime) -> State {
        if !self.effectiveEnd.isLater(than: now) { return .expired }
        if self.startsAt.isLater(than: now) { return .pending }
        return .active
    }

    /// The silence the router applies: an absolute window from `startsAt` to ``effectiveEnd``.
    /// - Throws: ``RuntimeSilenceError`` when a matcher does not compile (a stored silence is checked when made).
    package func asSilence() throws(RuntimeSilenceError) -> Silence {
        Silence(
            matcher: try self.matchers.compiled(),
            window: .absolute(from: self.startsAt, until: self.effectiveEnd),
            comment: "\(self.comment) (silence \(self.id) by \(self.createdBy))",
            mark: SourcePosition(file: "silence \(self.id)", line: 0, column: 0)
        )
    }
}

/// Why a run-time silence or its request is refused, in words for the API's answer.
package struct RuntimeSilenceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    package var message: String

    /// Makes an error.
    package init(_ message: String) { self.message = message }

    package var description: String { self.message }
}
